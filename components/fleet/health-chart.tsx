"use client";

import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface HealthPoint {
  at: number;
  acraUp: number;
  running: number;
}

/** Acra up/down and enclave running over time, as step areas: gaps and drops are what on-call looks for. */
export function HealthChart({ points }: { points: HealthPoint[] }) {
  if (points.length === 0) return <p className="text-sm muted">No health samples in this window.</p>;
  const format = (value: number) => new Date(value).toISOString().slice(11, 16);
  return (
    <div className="h-48 w-full" data-testid="health-chart" role="img" aria-label="Enclave and Acra health over time">
      <ResponsiveContainer>
        <AreaChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: -24 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
          <XAxis dataKey="at" type="number" domain={["dataMin", "dataMax"]} tickFormatter={format} stroke="var(--muted)" fontSize={11} />
          <YAxis domain={[0, 1]} ticks={[0, 1]} tickFormatter={(value: number) => (value ? "up" : "down")} stroke="var(--muted)" fontSize={11} />
          <Tooltip labelFormatter={(value) => new Date(Number(value)).toISOString()} formatter={(value, name) => [Number(value) ? "up" : "down", name === "acraUp" ? "acra-server" : "enclave"]} />
          <Area type="stepAfter" dataKey="running" stroke="#2f5bd3" fill="#2f5bd3" fillOpacity={0.15} isAnimationActive={false} />
          <Area type="stepAfter" dataKey="acraUp" stroke="#16a34a" fill="#16a34a" fillOpacity={0.25} isAnimationActive={false} />
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}

/**
 * acra-server health as the host can see it. Acra has no health endpoint: a TCP accept on its port is the liveness
 * signal, its Prometheus text gives counters, and the last log line time shows it is still doing something.
 */
import net from "node:net";
import type { AcraHealth, AcraMetrics, HealthStatus } from "@/lib/fleet/agent-protocol";
import type { SupervisorHealth } from "./supervisor-link";

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format 0.0.4 (samples only; HELP/TYPE lines and timestamps are ignored). */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!m?.[1] || m[4] === undefined) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        if (l[1] && l[2] !== undefined) labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    const v = m[4];
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v);
    if (Number.isNaN(value) && v !== "NaN") continue;
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/** The numbers the console shows, from acra-server's metric names (research notes §3, Prometheus). */
export function acraMetricsFromSamples(samples: PromSample[], scrapedAt: Date): AcraMetrics {
  const sum = (name: string, where: (l: Record<string, string>) => boolean = () => true): number | undefined => {
    const hit = samples.filter((s) => s.name === name && where(s.labels));
    return hit.length ? hit.reduce((a, s) => a + s.value, 0) : undefined;
  };
  const gauge = (name: string) => samples.find((s) => s.name === name)?.value;
  const [maj, min, pat] = [gauge("acraserver_version_major"), gauge("acraserver_version_minor"), gauge("acraserver_version_patch")];
  const buildVersion = samples.find((s) => s.name === "acraserver_build_info")?.labels.version;
  const metrics: AcraMetrics = { scrapedAt: scrapedAt.toISOString() };
  const put = (k: keyof Omit<AcraMetrics, "scrapedAt" | "version">, v: number | undefined) => {
    if (v !== undefined) metrics[k] = v;
  };
  put("connectionsTotal", sum("acraserver_connections_total"));
  put("decryptionsSuccess", sum("acra_decryptions_total", (l) => l.status === "success"));
  put("decryptionsFail", sum("acra_decryptions_total", (l) => l.status === "fail"));
  put("encryptionsSuccess", sum("acra_encryptions_total", (l) => l.status === "success"));
  put("encryptionsFail", sum("acra_encryptions_total", (l) => l.status === "fail"));
  const version = buildVersion ?? (maj !== undefined && min !== undefined && pat !== undefined ? `${maj}.${min}.${pat}` : undefined);
  if (version !== undefined) metrics.version = version;
  return metrics;
}

export function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

export async function scrapeMetrics(url: string, timeoutMs: number): Promise<AcraMetrics> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`metrics answered ${res.status}`);
  return acraMetricsFromSamples(parsePrometheusText(await res.text()), new Date());
}

/**
 * One verdict from the three signals. TCP down = down. TCP up but the supervisor says acra is not up, or the
 * supervisor could not be asked = degraded. Nothing probed yet = unknown.
 */
export function healthVerdict(tcp: AcraHealth["tcp"], supervisor: SupervisorHealth | null | undefined): HealthStatus {
  if (tcp === "unknown") return "unknown";
  if (tcp === "down") return "down";
  if (!supervisor) return "degraded";
  return supervisor.acra.state === "up" ? "healthy" : "degraded";
}

export function laterIso(a: string | null | undefined, b: string | null | undefined): string | null {
  const ta = a ? Date.parse(a) : NaN;
  const tb = b ? Date.parse(b) : NaN;
  if (Number.isNaN(ta) && Number.isNaN(tb)) return null;
  if (Number.isNaN(tb) || ta >= tb) return new Date(ta).toISOString();
  return new Date(tb).toISOString();
}

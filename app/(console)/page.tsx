import Link from "next/link";
import { EnclaveBadges } from "@/components/fleet/enclave-badges";
import { hostTone } from "@/components/fleet/status";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo } from "@/components/ui/time";
import { requirePagePermission } from "@/lib/auth/session";
import { criticalEventCount, listHostsWithEnclaves, recentFleetEvents } from "@/lib/fleet/fleet-data";

export const metadata = { title: "Overview" };

export default async function OverviewPage() {
  await requirePagePermission("fleet.view");
  const [hosts, events, critical] = await Promise.all([listHostsWithEnclaves(), recentFleetEvents(10), criticalEventCount()]);
  const enclaves = hosts.flatMap((host) => host.enclaves);
  const counts = {
    hosts: hosts.length,
    hostsDown: hosts.filter((host) => host.status === "down").length,
    enclaves: enclaves.length,
    trusted: enclaves.filter((enclave) => enclave.attestationState === "trusted").length,
    untrusted: enclaves.filter((enclave) => enclave.attestationState === "untrusted").length,
    acraDown: enclaves.filter((enclave) => enclave.acraHealth === "down").length,
  };
  const regions = [...new Set(hosts.map((host) => host.region))];
  const freshest = hosts.map((host) => host.lastSeenAt).filter((date): date is Date => Boolean(date)).sort((a, b) => b.getTime() - a.getTime())[0];

  return (
    <>
      <PageHeader
        title="Overview"
        description={
          <>
            Fleet state as last collected from the host agents · data from <TimeAgo date={freshest ?? null} />
          </>
        }
      />
      <div className="mb-6 grid grid-cols-2 gap-3 md:grid-cols-7" data-testid="overview-counts">
        <Stat label="Hosts" value={counts.hosts} />
        <Stat label="Hosts unreachable" value={counts.hostsDown} tone={counts.hostsDown ? "bad" : "ok"} />
        <Stat label="Enclaves" value={counts.enclaves} />
        <Stat label="Attested (trusted)" value={counts.trusted} tone={counts.trusted === counts.enclaves && counts.enclaves > 0 ? "ok" : "warn"} />
        <Stat label="Untrusted" value={counts.untrusted} tone={counts.untrusted ? "bad" : "ok"} />
        <Stat label="Acra down" value={counts.acraDown} tone={counts.acraDown ? "bad" : "ok"} />
        <Stat label="Critical events (24 h)" value={critical} tone={critical ? "bad" : "ok"} />
      </div>
      {hosts.length === 0 ? (
        <EmptyState title="No hosts registered yet">Start the lab (npm run lab) or register a host agent under Settings.</EmptyState>
      ) : (
        <div className="grid gap-4 lg:grid-cols-2" data-testid="fleet-map">
          {regions.map((region) => (
            <Card key={region} title={region}>
              <div className="grid gap-3 sm:grid-cols-2">
                {hosts
                  .filter((host) => host.region === region)
                  .map((host) => (
                    <div key={host.id} className="rounded-md border border-[var(--border)] p-3" data-testid={`host-${host.id}`}>
                      <div className="mb-2 flex items-center justify-between gap-2">
                        <span className="font-medium">{host.name}</span>
                        <StatusBadge tone={hostTone(host.status)}>{host.status === "down" ? "unreachable" : host.status}</StatusBadge>
                      </div>
                      <p className="mb-2 text-xs muted">
                        {host.instanceId} · seen <TimeAgo date={host.lastSeenAt} />
                      </p>
                      <ul className="space-y-1">
                        {host.enclaves.map((enclave) => (
                          <li key={enclave.id} className="flex flex-wrap items-center gap-1.5 text-xs">
                            <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="font-mono hover:underline">
                              {enclave.name || enclave.id.slice(0, 12)}
                            </Link>
                            <EnclaveBadges enclave={enclave} />
                          </li>
                        ))}
                        {host.enclaves.length === 0 && <li className="text-xs muted">no enclave</li>}
                      </ul>
                    </div>
                  ))}
              </div>
            </Card>
          ))}
        </div>
      )}
      <Card title="Recent fleet events" className="mt-6">
        {events.length === 0 ? (
          <p className="text-sm muted">Nothing has happened yet.</p>
        ) : (
          <ul className="divide-y divide-[var(--border)] text-sm">
            {events.map((event) => (
              <li key={event.id} className="flex items-center gap-3 py-1.5">
                <StatusBadge tone={event.severity === "critical" ? "bad" : event.severity === "warning" ? "warn" : "info"}>{event.severity}</StatusBadge>
                <span className="flex-1">{event.message}</span>
                <TimeAgo date={event.at} />
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

function Stat({ label, value, tone }: { label: string; value: number; tone?: "ok" | "warn" | "bad" }) {
  const color = tone === "bad" ? "text-red-600 dark:text-red-400" : tone === "warn" ? "text-amber-600 dark:text-amber-400" : tone === "ok" ? "text-green-600 dark:text-green-400" : "";
  return (
    <div className="panel p-3">
      <p className="text-xs muted">{label}</p>
      <p className={`text-2xl font-semibold ${color}`}>{value}</p>
    </div>
  );
}

import Link from "next/link";
import { notFound } from "next/navigation";
import { EventList } from "@/components/fleet/event-list";
import { acraTone, attestationTone, enclaveStateTone, hostTone } from "@/components/fleet/status";
import { Card, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo } from "@/components/ui/time";
import { requirePagePermission } from "@/lib/auth/session";
import { getHostDetail } from "@/lib/fleet/fleet-data";

export const metadata = { title: "Host" };

export default async function HostPage({ params }: { params: Promise<{ id: string }> }) {
  await requirePagePermission("fleet.view");
  const { id } = await params;
  const detail = await getHostDetail(decodeURIComponent(id));
  if (!detail) notFound();
  const { host, events } = detail;
  return (
    <>
      <PageHeader
        title={host.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge tone={hostTone(host.status)}>{host.status === "down" ? "unreachable" : host.status}</StatusBadge>
            {host.lab && <StatusBadge tone="warn">lab host (simulated Nitro)</StatusBadge>}
            <span className="text-xs">
              last seen <TimeAgo date={host.lastSeenAt} />
            </span>
          </span>
        }
      />
      {host.lastError && (
        <div role="alert" className="mb-4 rounded-md border border-red-500/40 bg-red-500/10 px-3 py-2 text-sm" data-testid="host-error">
          {host.lastError}
        </div>
      )}
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Host">
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm">
            {[
              ["Instance", host.instanceId],
              ["Region / AZ", `${host.region} / ${host.availabilityZone || "—"}`],
              ["IAM role", host.roleArn || "—"],
              ["Agent", `${host.agentUrl} · v${host.agentVersion || "?"}`],
              ["Pinned certificate", host.agentCertSha256 ? `${host.agentCertSha256.slice(0, 32)}…` : "none (never contacted)"],
              ["nitro-cli", host.nitroCliVersion || "—"],
              ["Allocator", `${host.cpus} vCPU · ${host.memoryMiB} MiB`],
            ].map(([label, value]) => (
              <div key={label} className="contents">
                <dt className="muted">{label}</dt>
                <dd className="break-all font-mono text-xs">{value}</dd>
              </div>
            ))}
          </dl>
        </Card>
        <Card title="Enclaves">
          <ul className="space-y-2 text-sm">
            {host.enclaves.map((enclave) => (
              <li key={enclave.id} className="flex flex-wrap items-center gap-2">
                <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="font-mono text-xs hover:underline">
                  {enclave.name || enclave.id}
                </Link>
                <StatusBadge tone={enclaveStateTone(enclave.state)}>{enclave.state.toLowerCase()}</StatusBadge>
                <StatusBadge tone={attestationTone(enclave.attestationState)}>{enclave.attestationState}</StatusBadge>
                <StatusBadge tone={acraTone(enclave.acraHealth)}>acra {enclave.acraHealth}</StatusBadge>
              </li>
            ))}
            {host.enclaves.length === 0 && <li className="muted">No enclave reported.</li>}
          </ul>
        </Card>
      </div>
      <Card title="Recent events" className="mt-4">
        <EventList events={events} />
      </Card>
    </>
  );
}

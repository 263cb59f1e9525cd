import Link from "next/link";
import { notFound } from "next/navigation";
import { EventList } from "@/components/fleet/event-list";
import { EnclaveBadges } from "@/components/fleet/enclave-badges";
import { hostTone } from "@/components/fleet/status";
import { Card, PageHeader } from "@/components/ui/card";
import { FactList } from "@/components/ui/fact-list";
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
          <FactList
            mono
            facts={[
              ["Instance", host.instanceId],
              ["Region / AZ", `${host.region} / ${host.availabilityZone || "—"}`],
              ["IAM role", host.roleArn || "—"],
              ["Agent", `${host.agentUrl} · v${host.agentVersion || "?"}`],
              ["Pinned certificate", host.agentCertSha256 ? `${host.agentCertSha256.slice(0, 32)}…` : "none (never contacted)"],
              ["nitro-cli", host.nitroCliVersion || "—"],
              ["Allocator", `${host.cpus} vCPU · ${host.memoryMiB} MiB`],
            ]}
          />
        </Card>
        <Card title="Enclaves">
          <ul className="space-y-2 text-sm">
            {host.enclaves.map((enclave) => (
              <li key={enclave.id} className="flex flex-wrap items-center gap-2">
                <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="font-mono text-xs hover:underline">
                  {enclave.name || enclave.id}
                </Link>
                <EnclaveBadges enclave={enclave} />
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

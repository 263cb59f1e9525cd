import Link from "next/link";
import { notFound } from "next/navigation";
import { EventList } from "@/components/fleet/event-list";
import { HealthChart } from "@/components/fleet/health-chart";
import { acraTone, attestationTone, enclaveStateTone, hostTone } from "@/components/fleet/status";
import { Card, PageHeader } from "@/components/ui/card";
import { FactList } from "@/components/ui/fact-list";
import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo, formatAge } from "@/components/ui/time";
import { requirePagePermission } from "@/lib/auth/session";
import { getEnclaveDetail } from "@/lib/fleet/fleet-data";

export const metadata = { title: "Enclave" };

export default async function EnclavePage({ params }: { params: Promise<{ id: string }> }) {
  await requirePagePermission("fleet.view");
  const { id } = await params;
  const detail = await getEnclaveDetail(decodeURIComponent(id));
  if (!detail) notFound();
  const { enclave, samples, events } = detail;
  const points = samples.map((sample) => ({ at: sample.at.getTime(), acraUp: sample.acraUp ? 1 : 0, running: sample.state === "RUNNING" ? 1 : 0 }));
  const facts: [string, React.ReactNode][] = [
    ["Enclave ID", <span key="id" className="font-mono text-xs">{enclave.id}</span>],
    ["Host", <Link key="host" href={`/hosts/${encodeURIComponent(enclave.hostId)}`} className="hover:underline">{enclave.host.name}</Link>],
    ["Region", enclave.host.region],
    ["CID", enclave.cid],
    ["Resources", `${enclave.cpus} vCPU · ${enclave.memoryMiB} MiB`],
    ["Flags", enclave.flags === "DEBUG_MODE" ? <StatusBadge key="f" tone="bad">DEBUG_MODE</StatusBadge> : enclave.flags],
    ["Uptime", enclave.startedAt && enclave.state === "RUNNING" ? formatAge(enclave.startedAt).replace(" ago", "") : "—"],
    ["Acra last log line", <TimeAgo key="log" date={enclave.acraLastLogAt} />],
    ["Image PCR0 (from the host)", <span key="p0" className="break-all font-mono text-xs">{enclave.eifPcr0 || "—"}</span>],
  ];
  return (
    <>
      <PageHeader
        title={enclave.name || enclave.id}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge tone={enclaveStateTone(enclave.state)}>{enclave.state.toLowerCase()}</StatusBadge>
            <StatusBadge tone={attestationTone(enclave.attestationState)}>attestation: {enclave.attestationState}</StatusBadge>
            <StatusBadge tone={acraTone(enclave.acraHealth)}>acra {enclave.acraHealth}</StatusBadge>
            <StatusBadge tone={hostTone(enclave.host.status)}>host {enclave.host.status}</StatusBadge>
            <span className="text-xs">
              data from <TimeAgo date={enclave.lastSeenAt} />
            </span>
          </span>
        }
        actions={
          <Link href={`/attestation/${encodeURIComponent(enclave.id)}`} className="rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]">
            Attestation →
          </Link>
        }
      />
      <div className="grid gap-4 lg:grid-cols-3">
        <Card title="Facts" className="lg:col-span-1">
          <FactList facts={facts} testId="enclave-facts" />
        </Card>
        <Card title="Health, last 6 hours" className="lg:col-span-2">
          <HealthChart points={points} />
        </Card>
      </div>
      <Card title="Recent events" className="mt-4">
        <EventList events={events} />
      </Card>
    </>
  );
}

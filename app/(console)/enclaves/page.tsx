import Link from "next/link";
import type { SearchParams } from "nuqs/server";
import { acraTone, attestationTone, enclaveStateTone, hostTone } from "@/components/fleet/status";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { TimeAgo } from "@/components/ui/time";
import { requirePagePermission } from "@/lib/auth/session";
import { listEnclaves } from "@/lib/fleet/fleet-data";
import { enclavesSearchParamsCache } from "./search-params";

export const metadata = { title: "Enclaves" };

export default async function EnclavesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requirePagePermission("fleet.view");
  const filters = enclavesSearchParamsCache.parse(await searchParams);
  const enclaves = await listEnclaves({ q: filters.q || undefined, state: filters.state ?? undefined, attestation: filters.attestation ?? undefined, region: filters.region ?? undefined });
  return (
    <>
      <PageHeader title="Enclaves" description="Every enclave the host agents report, with its health and attestation state." />
      <Card>
        <form className="mb-4 flex flex-wrap items-end gap-2" method="get">
          <input name="q" defaultValue={filters.q} placeholder="Search id, name or host" aria-label="Search" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-3 py-1.5 text-sm" />
          <select name="attestation" defaultValue={filters.attestation ?? ""} aria-label="Attestation" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any attestation</option>
            {["trusted", "untrusted", "stale", "unknown"].map((state) => (
              <option key={state}>{state}</option>
            ))}
          </select>
          <select name="state" defaultValue={filters.state ?? ""} aria-label="State" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any state</option>
            {["RUNNING", "TERMINATING", "TERMINATED", "EXITED", "UNKNOWN"].map((state) => (
              <option key={state}>{state}</option>
            ))}
          </select>
          <button className="rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]">Filter</button>
        </form>
        {enclaves.length === 0 ? (
          <EmptyState title="No enclave matches">Clear the filters, or check that the host agents are reachable.</EmptyState>
        ) : (
          <Table data-testid="enclaves-table">
            <thead>
              <tr>
                <Th>Enclave</Th>
                <Th>Host</Th>
                <Th>State</Th>
                <Th>Attestation</Th>
                <Th>Acra</Th>
                <Th>Resources</Th>
                <Th>Last seen</Th>
              </tr>
            </thead>
            <tbody>
              {enclaves.map((enclave) => (
                <tr key={enclave.id}>
                  <Td>
                    <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="font-mono text-xs hover:underline">
                      {enclave.name || enclave.id}
                    </Link>
                    {enclave.flags.includes("DEBUG") && (
                      <StatusBadge tone="bad" className="ml-2">
                        debug
                      </StatusBadge>
                    )}
                  </Td>
                  <Td>
                    <span className="mr-2">{enclave.host.name}</span>
                    <StatusBadge tone={hostTone(enclave.host.status)}>{enclave.host.region}</StatusBadge>
                  </Td>
                  <Td>
                    <StatusBadge tone={enclaveStateTone(enclave.state)}>{enclave.state.toLowerCase()}</StatusBadge>
                  </Td>
                  <Td>
                    <StatusBadge tone={attestationTone(enclave.attestationState)}>{enclave.attestationState}</StatusBadge>
                  </Td>
                  <Td>
                    <StatusBadge tone={acraTone(enclave.acraHealth)}>{enclave.acraHealth}</StatusBadge>
                  </Td>
                  <Td className="text-xs">
                    {enclave.cpus} vCPU · {enclave.memoryMiB} MiB
                  </Td>
                  <Td className="text-xs">
                    <TimeAgo date={enclave.lastSeenAt} />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}

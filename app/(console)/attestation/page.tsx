import Link from "next/link";
import type { SearchParams } from "nuqs/server";
import { AttestFleetButton } from "./attest-buttons";
import { AttestationSectionLinks } from "@/components/attestation/section-links";
import { attestationTone, hostTone } from "@/components/fleet/status";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { TimeAgo } from "@/components/ui/time";
import { getAttestationOverview } from "@/lib/attestation/attestation-data";
import { can } from "@/lib/auth/permissions";
import { requirePagePermission } from "@/lib/auth/session";
import { attestationSearchParamsCache } from "./search-params";

export const metadata = { title: "Attestation" };

const STATES = ["trusted", "untrusted", "stale", "unknown"] as const;
const STATE_MEANING: Record<(typeof STATES)[number], string> = {
  trusted: "fresh document, verified to a pinned root, matching an approved release",
  untrusted: "a document failed a check",
  stale: "no fresh document within the window",
  unknown: "not attested yet",
};

const linkClass = "rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]";

export default async function AttestationPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const user = await requirePagePermission("attestation.view");
  const filters = attestationSearchParamsCache.parse(await searchParams);
  const { enclaves, regions, releases, policy, counts } = await getAttestationOverview(filters);
  return (
    <>
      <PageHeader
        title="Attestation"
        description="Each enclave's last attestation: verified to the Nitro root, fresh, and matching an approved release."
        actions={<AttestationSectionLinks current="/attestation">{can(user.role, "attestation.run") && <AttestFleetButton />}</AttestationSectionLinks>}
      />
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="attestation-counts">
        {STATES.map((state) => (
          <Link key={state} href={`/attestation?state=${state}`} className="panel block p-3 hover:bg-[var(--panel-2)]" title={STATE_MEANING[state]}>
            <StatusBadge tone={attestationTone(state)}>{state}</StatusBadge>
            <div className="mt-1 text-2xl font-semibold">{counts[state] ?? 0}</div>
            <div className="text-xs muted">running enclaves</div>
          </Link>
        ))}
      </div>
      <Card>
        <form className="mb-4 flex flex-wrap items-end gap-2" method="get">
          <select name="state" defaultValue={filters.state ?? ""} aria-label="Attestation state" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any state</option>
            {STATES.map((state) => (
              <option key={state}>{state}</option>
            ))}
          </select>
          <select name="region" defaultValue={filters.region ?? ""} aria-label="Region" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any region</option>
            {regions.map((region) => (
              <option key={region}>{region}</option>
            ))}
          </select>
          <select name="release" defaultValue={filters.release ?? ""} aria-label="Release" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any release</option>
            <option value="none">no matching release</option>
            {releases.map((release) => (
              <option key={release.id} value={release.id}>
                {release.name} {release.version} ({release.status})
              </option>
            ))}
          </select>
          <button className={linkClass}>Filter</button>
          {(filters.state || filters.region || filters.release) && (
            <Link href="/attestation" className="px-2 py-1.5 text-sm underline">
              Clear
            </Link>
          )}
          <span className="ml-auto text-xs muted">
            Judged by the {policy.body.environment} policy {policy.version > 0 ? `version ${policy.version}` : "(default, not saved yet)"} · freshness {policy.body.freshnessSeconds} s
          </span>
        </form>
        {enclaves.length === 0 ? (
          <EmptyState title={filters.state || filters.region || filters.release ? "No enclave matches" : "No enclave to attest yet"}>
            The attestation worker checks every running enclave the host agents report.
          </EmptyState>
        ) : (
          <Table data-testid="attestation-table">
            <thead>
              <tr>
                <Th>Enclave</Th>
                <Th>Host</Th>
                <Th>Attestation</Th>
                <Th>Last verified</Th>
                <Th>Release</Th>
                <Th>PCR0</Th>
              </tr>
            </thead>
            <tbody>
              {enclaves.map((enclave) => (
                <tr key={enclave.id} data-state={enclave.attestationState} className={rowTint(enclave.attestationState)}>
                  <Td>
                    <Link href={`/attestation/${encodeURIComponent(enclave.id)}`} className="font-mono text-xs hover:underline">
                      {enclave.name || enclave.id}
                    </Link>
                    {enclave.state !== "RUNNING" && <span className="ml-2 text-xs muted">({enclave.state.toLowerCase()})</span>}
                  </Td>
                  <Td>
                    <span className="mr-2">{enclave.host.name}</span>
                    <StatusBadge tone={hostTone(enclave.host.status)}>{enclave.host.region}</StatusBadge>
                  </Td>
                  <Td>
                    <StatusBadge tone={attestationTone(enclave.attestationState)}>{enclave.attestationState}</StatusBadge>
                  </Td>
                  <Td>
                    <TimeAgo date={enclave.attestationCheckedAt} />
                  </Td>
                  <Td>
                    {enclave.release ? (
                      <span>
                        {enclave.release.name} {enclave.release.version}
                        {enclave.release.status !== "approved" && (
                          <StatusBadge tone="bad" className="ml-2">
                            {enclave.release.status}
                          </StatusBadge>
                        )}
                      </span>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </Td>
                  <Td className="font-mono text-xs">{enclave.attestedPcr0 ? `${enclave.attestedPcr0.slice(0, 16)}…` : "—"}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}

/** Red / amber / green at a glance, in addition to the worded badge. */
function rowTint(state: string): string {
  return state === "untrusted" ? "bg-red-600/5" : state === "stale" ? "bg-amber-500/5" : state === "trusted" ? "bg-green-600/5" : "";
}

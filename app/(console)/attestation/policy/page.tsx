import { AttestationSectionLinks } from "@/components/attestation/section-links";
import type { SearchParams } from "nuqs/server";
import { Card, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { TimeAgo } from "@/components/ui/time";
import { getPolicyPage } from "@/lib/attestation/attestation-data";
import { can } from "@/lib/auth/permissions";
import { requirePagePermission } from "@/lib/auth/session";
import { PolicyForm, SecondApproverToggle } from "./policy-form";
import { policySearchParamsCache } from "./search-params";

export const metadata = { title: "Attestation policy" };

export default async function PolicyPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  // Everyone who sees attestation may read the policy and its history (auditors cite it); only policy.manage edits.
  const user = await requirePagePermission("attestation.view");
  const { environment: requested } = policySearchParamsCache.parse(await searchParams);
  const environment = /^[A-Za-z0-9._-]{1,64}$/.test(requested) ? requested : "production";
  const { current, versions, environments, approved, secondApprover, releases, activeEnvironment } = await getPolicyPage(environment);
  const releaseLabel = new Map(releases.map((release) => [release.id, release]));
  const mayEdit = can(user.role, "policy.manage");
  return (
    <>
      <PageHeader
        title="Attestation policy"
        description={`Which releases an environment accepts, whether debug enclaves are tolerated, and how fresh a document must be. The worker judges the fleet by the "${activeEnvironment}" policy.`}
        actions={<AttestationSectionLinks current="/attestation/policy" />}
      />
      <form method="get" className="mb-4 flex flex-wrap items-center gap-2 text-sm">
        <label htmlFor="environment" className="muted">
          Environment
        </label>
        <input id="environment" name="environment" list="environments" defaultValue={environment} className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm" />
        <datalist id="environments">
          {environments.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        <button className="rounded-md border border-[var(--border)] px-3 py-1.5 hover:bg-[var(--panel-2)]">Open</button>
      </form>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title={`Current policy: ${environment}`}>
          <p className="mb-3 text-sm" data-testid="policy-current">
            {current.version > 0 ? `Version ${current.version}` : "Default (no version saved yet)"} · hash <span className="font-mono text-xs">{current.hash}</span>
          </p>
          {mayEdit ? (
            <PolicyForm key={environment} environment={environment} current={current.body} approved={approved.map(({ id, name, version, pcr0 }) => ({ id, name, version, pcr0 }))} />
          ) : (
            <p className="text-sm muted">Your role can read the policy; changing it needs the policy.manage permission.</p>
          )}
        </Card>
        <Card title="Release approval">
          {mayEdit ? <SecondApproverToggle value={secondApprover} /> : <p className="text-sm">{secondApprover ? "A second person must approve each release." : "The importer may approve their own release."}</p>}
        </Card>
      </div>
      <Card title="Versions" className="mt-4">
        <Table data-testid="policy-versions">
          <thead>
            <tr>
              <Th>Version</Th>
              <Th>Allowed releases</Th>
              <Th>Debug</Th>
              <Th>Freshness</Th>
              <Th>Hash</Th>
              <Th>By</Th>
            </tr>
          </thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}>
                <Td>{version.version}</Td>
                <Td className="text-xs">
                  {version.body.allowedReleaseIds.length === 0 && <span className="muted">none</span>}
                  {version.body.allowedReleaseIds.map((id) => {
                    const release = releaseLabel.get(id);
                    return (
                      <div key={id}>
                        {release ? `${release.name} ${release.version}` : id}{" "}
                        {release && release.status !== "approved" && <StatusBadge tone="bad">{release.status}</StatusBadge>}
                      </div>
                    );
                  })}
                </Td>
                <Td>{version.body.allowDebug ? <StatusBadge tone="bad">allowed</StatusBadge> : "no"}</Td>
                <Td>{version.body.freshnessSeconds} s</Td>
                <Td className="font-mono text-xs" title={version.hash}>
                  {version.hash.slice(0, 16)}…
                </Td>
                <Td className="text-xs">
                  {version.createdBy} <TimeAgo date={version.createdAt} />
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
    </>
  );
}

import Link from "next/link";
import type { SearchParams } from "nuqs/server";
import { AttestationSectionLinks } from "@/components/attestation/section-links";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge, type Tone } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { TimeAgo } from "@/components/ui/time";
import { getReleasesPage } from "@/lib/attestation/attestation-data";
import { approvalProblem } from "@/lib/attestation/release-rules";
import { can } from "@/lib/auth/permissions";
import { requirePagePermission } from "@/lib/auth/session";
import { ImportReleaseForm } from "./import-form";
import { ReleaseActions } from "./release-actions";
import { releasesSearchParamsCache } from "./search-params";

export const metadata = { title: "Releases" };

const STATUS_TONE: Record<string, Tone> = { approved: "ok", pending: "warn", revoked: "bad" };

export default async function ReleasesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const user = await requirePagePermission("attestation.view");
  const { status } = releasesSearchParamsCache.parse(await searchParams);
  const { releases, secondApprover, allowed, policy } = await getReleasesPage(status);
  const mayApprove = can(user.role, "releases.approve");
  return (
    <>
      <PageHeader
        title="Releases"
        description="Approved builds: the measurements a reproducible build printed, which attestation documents are held against."
        actions={<AttestationSectionLinks current="/releases" />}
      />
      {can(user.role, "releases.import") && (
        <Card title="Import a release" className="mb-6">
          <ImportReleaseForm />
        </Card>
      )}
      <Card
        title="Registered releases"
        actions={
          <span className="text-xs muted" data-testid="second-approver">
            {secondApprover ? "A second person must approve each release." : "The importer may approve their own release."}
          </span>
        }
      >
        <nav className="mb-3 flex gap-3 text-sm" aria-label="Release status">
          {[null, "pending", "approved", "revoked"].map((option) => (
            <Link key={option ?? "all"} href={option ? `/releases?status=${option}` : "/releases"} className={option === (status ?? null) ? "font-semibold underline" : "muted hover:underline"}>
              {option ?? "all"}
            </Link>
          ))}
        </nav>
        {releases.length === 0 ? (
          <EmptyState title="No release registered">Import the output of the reproducible build above.</EmptyState>
        ) : (
          <Table data-testid="releases-table">
            <thead>
              <tr>
                <Th>Release</Th>
                <Th>Measurements</Th>
                <Th>Status</Th>
                <Th>Who</Th>
                <Th>Actions</Th>
              </tr>
            </thead>
            <tbody>
              {releases.map((release) => {
                const label = `${release.name} ${release.version}`;
                const blocked = approvalProblem(release, user.email, secondApprover);
                return (
                  <tr key={release.id} data-release={label} data-release-id={release.id}>
                    <Td>
                      <div className="font-medium">{label}</div>
                      <div className="text-xs muted">
                        from {release.source}
                        {release.sourceCommit && (
                          <>
                            {" "}
                            · commit <span className="font-mono">{release.sourceCommit.slice(0, 12)}</span>
                          </>
                        )}
                      </div>
                      {allowed.has(release.id) && (
                        <StatusBadge tone="info" className="mt-1">
                          allowed in {policy.body.environment}
                        </StatusBadge>
                      )}
                    </Td>
                    <Td className="font-mono text-[11px] leading-4">
                      {(
                        [
                          ["PCR0", release.pcr0],
                          ["PCR1", release.pcr1],
                          ["PCR2", release.pcr2],
                          ["PCR8", release.pcr8],
                        ] as const
                      )
                        .filter(([, value]) => value)
                        .map(([name, value]) => (
                          <div key={name} className="break-all">
                            <span className="muted">{name}</span> {value}
                          </div>
                        ))}
                    </Td>
                    <Td>
                      <StatusBadge tone={STATUS_TONE[release.status] ?? "unknown"}>{release.status}</StatusBadge>
                      {release.revokeReason && <div className="mt-1 max-w-48 text-xs">“{release.revokeReason}”</div>}
                    </Td>
                    <Td className="text-xs">
                      <div>
                        imported by {release.createdBy} <TimeAgo date={release.createdAt} />
                      </div>
                      {release.approvedBy && (
                        <div>
                          approved by {release.approvedBy} <TimeAgo date={release.approvedAt} />
                        </div>
                      )}
                      {release.revokedBy && (
                        <div>
                          revoked by {release.revokedBy} <TimeAgo date={release.revokedAt} />
                        </div>
                      )}
                    </Td>
                    <Td>
                      {mayApprove ? (
                        <ReleaseActions
                          releaseId={release.id}
                          label={label}
                          pcr0={release.pcr0}
                          status={release.status}
                          approveBlockedReason={release.status === "pending" ? blocked : null}
                        />
                      ) : (
                        <span className="text-xs muted">—</span>
                      )}
                    </Td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}

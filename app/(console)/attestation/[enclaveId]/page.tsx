import Link from "next/link";
import { notFound } from "next/navigation";
import type { SearchParams } from "nuqs/server";
import { ChainTimeline } from "@/components/attestation/chain-timeline";
import { HistoryTimeline } from "@/components/attestation/history-timeline";
import { PcrTable, type PcrRow } from "@/components/attestation/pcr-table";
import { EventList } from "@/components/fleet/event-list";
import { attestationTone } from "@/components/fleet/status";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo, formatAge } from "@/components/ui/time";
import { getEnclaveAttestation } from "@/lib/attestation/attestation-data";
import { pcrForInstanceId, pcrForRoleArn } from "@/lib/attestation/pcr";
import { can } from "@/lib/auth/permissions";
import { requirePagePermission } from "@/lib/auth/session";
import { AttestNowButton } from "../attest-buttons";
import { enclaveAttestationSearchParamsCache } from "./search-params";

export const metadata = { title: "Enclave attestation" };

export default async function EnclaveAttestationPage({ params, searchParams }: { params: Promise<{ enclaveId: string }>; searchParams: Promise<SearchParams> }) {
  const user = await requirePagePermission("attestation.view");
  const { enclaveId: rawId } = await params;
  const enclaveId = decodeURIComponent(rawId);
  const { against } = enclaveAttestationSearchParamsCache.parse(await searchParams);
  const detail = await getEnclaveAttestation(enclaveId, against);
  if (!detail) notFound();
  const { enclave, last, verification, compared, releases, policy, judgedBy, history, events, documentAvailable } = detail;
  const document = verification?.document ?? null;
  const base = `/attestation/${encodeURIComponent(enclave.id)}`;
  const releaseLabel = new Map(releases.map((release) => [release.id, `${release.name} ${release.version}`]));

  const pcrRows: PcrRow[] = document
    ? [0, 1, 2, 3, 4, 8].map((index) => {
        const actual = document.pcrs[index] ?? null;
        let expected: string | null = null;
        let source: string | null = null;
        if (compared && index <= 2) {
          expected = [compared.pcr0, compared.pcr1, compared.pcr2][index]!;
          source = `release ${compared.name} ${compared.version} (${compared.status})`;
        } else if (compared && index === 8 && compared.pcr8) {
          expected = compared.pcr8;
          source = `release ${compared.name} ${compared.version} (signed image)`;
        } else if (index === 3 && enclave.host.roleArn) {
          expected = pcrForRoleArn(enclave.host.roleArn);
          source = `IAM role ${enclave.host.roleArn}`;
        } else if (index === 4 && enclave.host.instanceId) {
          expected = pcrForInstanceId(enclave.host.instanceId);
          source = `parent instance ${enclave.host.instanceId}`;
        }
        return { index, actual, expected, source };
      })
    : [];

  const ageMs = document && last ? last.at.getTime() - document.timestampMs : null;
  return (
    <>
      <PageHeader
        title={enclave.name || enclave.id}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge tone={attestationTone(enclave.attestationState)}>attestation: {enclave.attestationState}</StatusBadge>
            {verification?.root && <StatusBadge tone={verification.root.kind === "lab" ? "warn" : "ok"}>{verification.root.kind === "lab" ? "LAB root" : "AWS Nitro root"}</StatusBadge>}
            <span className="text-xs">
              last verified <TimeAgo date={enclave.attestationCheckedAt} />
            </span>
            <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="text-xs underline">
              enclave details
            </Link>
          </span>
        }
        actions={
          <div className="flex flex-wrap items-center gap-2">
            {documentAvailable && (
              <a href={`${base}/document`} className="rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]" download data-testid="download-document">
                Download raw document
              </a>
            )}
            {can(user.role, "attestation.run") && <AttestNowButton enclaveId={enclave.id} />}
          </div>
        }
      />
      {!last ? (
        <Card>
          <EmptyState title="No attestation document yet">The worker attests every running enclave of a reachable host; an operator can also attest now.</EmptyState>
        </Card>
      ) : (
        <>
          <div className="grid gap-4 lg:grid-cols-3">
            <Card title="Verdicts" className="lg:col-span-1">
              <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm" data-testid="verdicts">
                <Verdict label="Valid at issuance" ok={last.validAtIssuance} />
                <Verdict label="Fresh (age and nonce)" ok={last.fresh} />
                <Verdict label="Matches policy" ok={last.matchesPolicy} />
                <Verdict label="Debug mode" ok={!last.debug} okText="no" badText="YES" />
                <dt className="muted">Judged</dt>
                <dd>
                  <TimeAgo date={last.at} />
                </dd>
                <dt className="muted">Policy</dt>
                <dd className="text-xs">
                  {judgedBy ? `${judgedBy.environment} version ${judgedBy.version}` : "unknown version"} <span className="font-mono muted">{last.policyHash.slice(0, 12)}…</span>
                </dd>
                <dt className="muted">Release</dt>
                <dd>{last.releaseId ? (releaseLabel.get(last.releaseId) ?? last.releaseId) : <span className="text-red-600">no approved release matched</span>}</dd>
              </dl>
              {last.reasons.length > 0 && (
                <ul className="mt-3 space-y-1 break-all text-xs text-red-700 dark:text-red-400" data-testid="reasons">
                  {last.reasons.map((reason, index) => (
                    <li key={index}>
                      <code className="font-semibold">{reason.code}</code> {reason.message}
                    </li>
                  ))}
                </ul>
              )}
            </Card>
            <Card title="Nonce and freshness" className="lg:col-span-2">
              <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm">
                <dt className="muted">Nonce sent</dt>
                <dd className="break-all font-mono text-xs">{last.nonce}</dd>
                <dt className="muted">Nonce in document</dt>
                <dd className="break-all font-mono text-xs">
                  {document?.nonce ?? <span className="muted">none</span>}{" "}
                  {document && <StatusBadge tone={document.nonce === last.nonce ? "ok" : "bad"}>{document.nonce === last.nonce ? "equal" : "differs"}</StatusBadge>}
                </dd>
                <dt className="muted">Document timestamp</dt>
                <dd className="text-xs">{document ? document.timestamp.toISOString() : "—"}</dd>
                <dt className="muted">Age when judged</dt>
                <dd className="text-xs">
                  {ageMs === null ? "—" : `${(ageMs / 1000).toFixed(1)} s`} (window {policy.body.freshnessSeconds} s)
                </dd>
                <dt className="muted">Module</dt>
                <dd className="break-all font-mono text-xs">{document?.moduleId ?? "—"}</dd>
                <dt className="muted">Document SHA-256</dt>
                <dd className="break-all font-mono text-xs">{last.docSha256}</dd>
                {document && (
                  <>
                    <dt className="muted">Document age now</dt>
                    <dd className="text-xs">{formatAge(document.timestamp)}</dd>
                  </>
                )}
              </dl>
              {!documentAvailable && <p className="mt-2 text-xs text-amber-700">The raw bytes of this document were pruned by the retention policy; the verdict above is what was stored.</p>}
            </Card>
          </div>

          <Card
            title="PCRs against the approved release"
            className="mt-4"
            actions={
              <form method="get" className="flex items-center gap-2 text-xs">
                <label htmlFor="against" className="muted">
                  Compare with
                </label>
                <select id="against" name="against" defaultValue={compared?.id ?? ""} className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1 text-xs">
                  {releases.map((release) => (
                    <option key={release.id} value={release.id}>
                      {release.name} {release.version} ({release.status})
                    </option>
                  ))}
                </select>
                <button className="rounded-md border border-[var(--border)] px-2 py-1 hover:bg-[var(--panel-2)]">Compare</button>
              </form>
            }
          >
            {document ? (
              <>
                {!compared && <p className="mb-2 text-sm text-amber-700">No release to compare with: import and approve one under Releases.</p>}
                <PcrTable rows={pcrRows} />
              </>
            ) : (
              <p className="text-sm muted">The document could not be decoded or is no longer stored.</p>
            )}
          </Card>

          <Card title="Certificate chain" className="mt-4">
            {verification && verification.chain.length > 0 ? (
              <ChainTimeline chain={verification.chain} verifiedAt={last.at} documentAt={document?.timestamp ?? null} />
            ) : (
              <p className="text-sm muted">No chain to show.</p>
            )}
          </Card>
        </>
      )}

      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Card title="History">
          <HistoryTimeline
            entries={history.map((entry) => ({
              id: entry.id,
              at: entry.at,
              state: entry.state,
              trusted: entry.trusted,
              pcr0: entry.pcr0,
              reasons: entry.reasons,
              error: entry.error,
              releaseLabel: entry.releaseId ? (releaseLabel.get(entry.releaseId) ?? null) : null,
              docSha256: entry.docSha256,
            }))}
            documentHref={(sha256) => `${base}/document?sha256=${sha256}`}
          />
        </Card>
        <Card title="Attestation events">
          <EventList events={events} />
        </Card>
      </div>
    </>
  );
}

function Verdict({ label, ok, okText = "yes", badText = "no" }: { label: string; ok: boolean; okText?: string; badText?: string }) {
  return (
    <>
      <dt className="muted">{label}</dt>
      <dd>
        <StatusBadge tone={ok ? "ok" : "bad"}>{ok ? okText : badText}</StatusBadge>
      </dd>
    </>
  );
}

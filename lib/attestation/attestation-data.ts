/**
 * Attestation reads for pages and route handlers. Authorization is checked here, in the data-access layer (like
 * lib/fleet/fleet-data.ts), so no page can forget it. Pages read the database only: the chain shown on the detail
 * page is re-derived from the stored raw document, never fetched from an agent.
 */
import "server-only";
import { cache } from "react";
import { requirePermission } from "../auth/session";
import { getDb } from "../db/client";
import { attestationEnvironment, configuredTrustedRoots } from "./fleet-attestation";
import type { AttestationState } from "./fleet-rules";
import { currentPolicy, listPolicyEnvironments, listPolicyVersions, listReleases, requireSecondApprover } from "./registry-store";
import type { Reason } from "./types";
import { verifyAttestationDocument } from "./verify";

export interface OverviewFilters {
  state?: AttestationState | null;
  region?: string | null;
  release?: string | null;
}

export const getAttestationOverview = cache(async (filters: OverviewFilters = {}) => {
  await requirePermission("attestation.view");
  const db = getDb();
  const [enclaves, regions, releases, policy] = await Promise.all([
    db.enclave.findMany({
      where: {
        ...(filters.state ? { attestationState: filters.state } : {}),
        ...(filters.region ? { host: { region: filters.region } } : {}),
        ...(filters.release === "none" ? { releaseId: null } : filters.release ? { releaseId: filters.release } : {}),
      },
      include: { host: { select: { id: true, name: true, region: true, status: true } } },
      orderBy: [{ hostId: "asc" }, { name: "asc" }],
    }),
    db.host.findMany({ distinct: ["region"], select: { region: true }, orderBy: { region: "asc" } }),
    db.release.findMany({ select: { id: true, name: true, version: true, status: true }, orderBy: [{ name: "asc" }, { version: "desc" }] }),
    currentPolicy(db, attestationEnvironment()),
  ]);
  const counts = await db.enclave.groupBy({ by: ["attestationState"], where: { state: "RUNNING" }, _count: { _all: true } });
  const releaseById = new Map(releases.map((release) => [release.id, release]));
  return {
    enclaves: enclaves.map((enclave) => ({ ...enclave, release: enclave.releaseId ? (releaseById.get(enclave.releaseId) ?? null) : null })),
    regions: regions.map((row) => row.region).filter(Boolean),
    releases,
    policy,
    counts: Object.fromEntries(counts.map((row) => [row.attestationState, row._count._all])) as Partial<Record<AttestationState, number>>,
  };
});

export function parseReasons(json: string): Reason[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? (value as Reason[]) : [];
  } catch {
    return [];
  }
}

export const getEnclaveAttestation = cache(async (enclaveId: string, againstReleaseId?: string | null) => {
  await requirePermission("attestation.view");
  const db = getDb();
  const enclave = await db.enclave.findUnique({ where: { id: enclaveId }, include: { host: true } });
  if (!enclave) return null;
  const [history, lastWithDocument, events] = await Promise.all([
    db.attestationResult.findMany({ where: { enclaveId }, orderBy: { id: "desc" }, take: 60 }),
    db.attestationResult.findFirst({ where: { enclaveId, docSha256: { not: null } }, orderBy: { id: "desc" } }),
    db.fleetEvent.findMany({ where: { enclaveId, kind: { startsWith: "attestation." } }, orderBy: { at: "desc" }, take: 30 }),
  ]);
  const document = lastWithDocument?.docSha256 ? await db.attestationDocument.findUnique({ where: { sha256: lastWithDocument.docSha256 } }) : null;
  // Re-verify the stored bytes at the instant they were judged: the chain, its validity and the decoded fields.
  const verification =
    document && lastWithDocument
      ? verifyAttestationDocument(document.bytes, { at: lastWithDocument.at, trustedRoots: configuredTrustedRoots(), expectedNonce: lastWithDocument.nonce })
      : null;
  const policy = await currentPolicy(db, attestationEnvironment());
  const releases = await db.release.findMany({ orderBy: [{ name: "asc" }, { version: "desc" }] });
  // What to compare against: the user's choice, else the release the document matched, else the enclave's last
  // matched release, else the first release the policy allows.
  const comparedId = againstReleaseId || lastWithDocument?.releaseId || enclave.releaseId || policy.body.allowedReleaseIds[0] || null;
  const compared = releases.find((release) => release.id === comparedId) ?? null;
  const judgedBy = lastWithDocument ? await db.policyVersion.findFirst({ where: { hash: lastWithDocument.policyHash }, orderBy: { version: "desc" } }) : null;
  return {
    enclave,
    last: lastWithDocument ? { ...lastWithDocument, reasons: parseReasons(lastWithDocument.reasons) } : null,
    documentAvailable: Boolean(document),
    verification,
    compared,
    releases,
    policy,
    judgedBy: judgedBy ? { environment: judgedBy.environment, version: judgedBy.version } : null,
    history: history.map((result) => ({ ...result, reasons: parseReasons(result.reasons) })),
    events,
  };
});

/** The raw bytes of the enclave's latest stored document (or of the one with `sha256`, when it belongs to it). */
export async function getAttestationDocumentBytes(enclaveId: string, sha256?: string | null) {
  await requirePermission("attestation.view");
  const db = getDb();
  const result = await db.attestationResult.findFirst({
    where: { enclaveId, docSha256: sha256 ? sha256 : { not: null } },
    orderBy: { id: "desc" },
    select: { docSha256: true, at: true },
  });
  if (!result?.docSha256) return null;
  const document = await db.attestationDocument.findUnique({ where: { sha256: result.docSha256 } });
  return document ? { sha256: document.sha256, bytes: document.bytes, at: result.at } : null;
}

export const getReleasesPage = cache(async (status?: string | null) => {
  await requirePermission("attestation.view");
  const db = getDb();
  const [releases, secondApprover, policy] = await Promise.all([listReleases(db, { status: status ?? undefined }), requireSecondApprover(db), currentPolicy(db, attestationEnvironment())]);
  return { releases, secondApprover, allowed: new Set(policy.body.allowedReleaseIds), policy };
});

export const getPolicyPage = cache(async (environment: string) => {
  await requirePermission("attestation.view");
  const db = getDb();
  const [current, versions, environments, approved, secondApprover, releases] = await Promise.all([
    currentPolicy(db, environment),
    listPolicyVersions(db, environment),
    listPolicyEnvironments(db),
    listReleases(db, { status: "approved" }),
    requireSecondApprover(db),
    db.release.findMany({ select: { id: true, name: true, version: true, status: true } }),
  ]);
  return { current, versions, environments, approved, secondApprover, releases, activeEnvironment: attestationEnvironment() };
});

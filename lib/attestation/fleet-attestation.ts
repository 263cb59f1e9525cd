/**
 * Continuous attestation of the fleet: for each running enclave, ask its host agent for a document answering a
 * fresh random nonce, verify it against the pinned roots and the policy in force (the approved release matched by
 * PCR0), store the raw document (deduplicated by SHA-256) and the result, move the enclave's attestation state and
 * record fleet events for the alerts module. Runs as the worker job "attestation.attest-fleet" and on demand.
 *
 * The document fetcher, the clock and the roots are injectable so tests can drive the job with real agents or with
 * real lab-signed documents; nothing else about the job changes.
 */
import "server-only";
import { randomBytes } from "node:crypto";
import type { Db } from "../db/client";
import { agentClientFor } from "../fleet/agent-connection";
import { readLabRootPem } from "../fleet/trust";
import { logger } from "../log";
import { createChainCache } from "./chain";
import { MAX_DOCUMENT_BYTES, parseAttestationDocument } from "./document";
import { expectedPcrsOf, matchRelease, nextAttestation, type AttemptOutcome, type CandidateRelease, type Transition } from "./fleet-rules";
import { isDebugPcrs } from "./pcr";
import { DEFAULT_ENVIRONMENT, ensurePolicy, type StoredPolicy } from "./registry-store";
import { awsNitroRootG1, trustedRootFromPem } from "./roots";
import type { AttestationVerification, ChainCache, TrustedRoot } from "./types";
import { verifyAttestationDocument } from "./verify";

export interface AttestHost {
  id: string;
  name: string;
  agentUrl: string;
  agentCertSha256: string;
  instanceId: string;
  roleArn: string;
  status: string;
}

export type DocumentFetcher = (host: AttestHost, enclaveId: string, nonceHex: string) => Promise<Uint8Array>;

export interface AttestDeps {
  fetchDocument?: DocumentFetcher;
  trustedRoots?: readonly TrustedRoot[];
  now?: () => Date;
  environment?: string;
  chainCache?: ChainCache;
  /** Enclaves attested at the same time (one slow agent must not hold up the fleet). */
  concurrency?: number;
}

const defaultFetcher: DocumentFetcher = (host, enclaveId, nonceHex) => agentClientFor(host).attest(enclaveId, nonceHex);

// One cache per process: the next document from the same instance re-uses its verified chain.
const processChainCache = createChainCache();

/** AWS Nitro Root-G1, plus the lab root when CONSOLE_LAB_ROOT_PEM_FILE points at one (the UI then shows LAB TRUST). */
export function configuredTrustedRoots(): TrustedRoot[] {
  const roots = [awsNitroRootG1()];
  const labPem = readLabRootPem();
  if (labPem) {
    try {
      roots.push(trustedRootFromPem(labPem, "lab", "lab root (CONSOLE_LAB_ROOT_PEM_FILE)"));
    } catch (error) {
      logger.error({ err: error }, "the configured lab root is not a usable certificate; trusting the AWS root only");
    }
  }
  return roots;
}

export function attestationEnvironment(): string {
  return process.env.CONSOLE_ATTESTATION_ENVIRONMENT?.trim() || DEFAULT_ENVIRONMENT;
}

interface Context {
  policy: StoredPolicy;
  allowed: (CandidateRelease & { status: string })[];
  roots: readonly TrustedRoot[];
  fetchDocument: DocumentFetcher;
  now: () => Date;
  chainCache: ChainCache;
}

async function loadContext(db: Db, deps: AttestDeps): Promise<Context> {
  const policy = await ensurePolicy(db, deps.environment ?? attestationEnvironment());
  // A release revoked after the policy was written drops out here, without waiting for a policy change.
  const allowed = await db.release.findMany({ where: { id: { in: policy.body.allowedReleaseIds }, status: "approved" } });
  return {
    policy,
    allowed,
    roots: deps.trustedRoots ?? configuredTrustedRoots(),
    fetchDocument: deps.fetchDocument ?? defaultFetcher,
    now: deps.now ?? (() => new Date()),
    chainCache: deps.chainCache ?? processChainCache,
  };
}

export interface VerifiedAttempt {
  verification: AttestationVerification;
  releaseId: string | null;
}

/**
 * Verifies one document as the job does: the expected PCRs are those of the approved release (allowed by the
 * policy) whose PCR0 the document reports; without such a release the result is untrusted with pcr.mismatch,
 * except for a debug document under a policy that allows debug enclaves (which no release can describe).
 */
export function judgeDocument(
  bytes: Uint8Array,
  input: { nonceHex: string; at: Date; policy: StoredPolicy; allowed: readonly CandidateRelease[]; host: Pick<AttestHost, "instanceId" | "roleArn">; roots: readonly TrustedRoot[]; chainCache?: ChainCache },
): VerifiedAttempt {
  const parsed = parseAttestationDocument(bytes);
  const pcr0 = parsed.ok ? parsed.document.pcrs[0] : undefined;
  const debug = parsed.ok && isDebugPcrs(parsed.document.pcrs);
  const release = debug ? null : matchRelease(pcr0, input.allowed);
  const verification = verifyAttestationDocument(bytes, {
    at: input.at,
    trustedRoots: input.roots,
    expectedNonce: input.nonceHex,
    freshnessMs: input.policy.body.freshnessSeconds * 1000,
    allowDebug: input.policy.body.allowDebug,
    ...(release ? { expectedPcrs: expectedPcrsOf(release) } : {}),
    ...(input.host.instanceId ? { expectedInstanceId: input.host.instanceId } : {}),
    ...(input.host.roleArn ? { expectedRoleArn: input.host.roleArn } : {}),
    chainCache: input.chainCache,
  });
  if (release || !parsed.ok || (debug && input.policy.body.allowDebug)) return { verification, releaseId: release?.id ?? null };
  const reason = {
    code: "pcr.mismatch" as const,
    message: `no approved release allowed by the ${input.policy.body.environment} policy (version ${input.policy.version}) has PCR0 ${pcr0 ?? "(absent)"}`,
  };
  return { verification: { ...verification, trusted: false, matchesPolicy: false, reasons: [...verification.reasons, reason] }, releaseId: null };
}

interface EnclaveRow {
  id: string;
  name: string;
  state: string;
  attestationState: string;
  attestedPcr0: string | null;
  createdAt: Date;
  host: AttestHost;
}

export interface EnclaveAttempt {
  enclaveId: string;
  state: Transition["state"];
  trusted: boolean;
  resultId: number | null;
  error: string | null;
}

async function previousOf(db: Db, enclave: EnclaveRow) {
  const [lastTrusted, last] = await Promise.all([
    db.attestationResult.findFirst({ where: { enclaveId: enclave.id, trusted: true }, orderBy: { id: "desc" }, select: { docTimestamp: true, at: true } }),
    db.attestationResult.findFirst({ where: { enclaveId: enclave.id }, orderBy: { id: "desc" }, select: { reasons: true } }),
  ]);
  let previousReasonCodes: string[] = [];
  try {
    previousReasonCodes = last ? (JSON.parse(last.reasons) as { code: string }[]).map((reason) => reason.code) : [];
  } catch {
    previousReasonCodes = [];
  }
  return {
    previous: {
      state: enclave.attestationState,
      attestedPcr0: enclave.attestedPcr0,
      lastTrustedDocumentAt: lastTrusted ? (lastTrusted.docTimestamp ?? lastTrusted.at) : null,
      firstSeenAt: enclave.createdAt,
    },
    previousReasonCodes,
  };
}

/**
 * One attempt for one enclave. `contact: false` (host known unreachable) skips the agent and only lets the state
 * age towards stale; such a pass stores a result only when the state changes, so a dead host does not fill the table.
 */
async function attemptEnclave(db: Db, enclave: EnclaveRow, ctx: Context, contact: boolean): Promise<EnclaveAttempt> {
  const nonceHex = randomBytes(32).toString("hex");
  let bytes: Uint8Array | null = null;
  let outcome: AttemptOutcome;
  let releaseId: string | null = null;
  if (!contact) {
    outcome = { kind: "error", message: `host ${enclave.host.name} is ${enclave.host.status}` };
  } else {
    try {
      bytes = await ctx.fetchDocument(enclave.host, enclave.id, nonceHex);
      const judged = judgeDocument(bytes, { nonceHex, at: ctx.now(), policy: ctx.policy, allowed: ctx.allowed, host: enclave.host, roots: ctx.roots, chainCache: ctx.chainCache });
      outcome = { kind: "document", verification: judged.verification };
      releaseId = judged.releaseId;
    } catch (error) {
      outcome = { kind: "error", message: `agent: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  const now = ctx.now();
  const { previous, previousReasonCodes } = await previousOf(db, enclave);
  const transition = nextAttestation({
    previous,
    outcome,
    now,
    freshnessMs: ctx.policy.body.freshnessSeconds * 1000,
    label: `Enclave ${enclave.name || enclave.id} on ${enclave.host.name}`,
    previousReasonCodes,
  });
  if (!contact && transition.state === enclave.attestationState) {
    return { enclaveId: enclave.id, state: transition.state, trusted: false, resultId: null, error: outcome.kind === "error" ? outcome.message : null };
  }

  const verification = outcome.kind === "document" ? outcome.verification : null;
  const doc = verification?.document ?? null;
  const storable = bytes !== null && bytes.length > 0 && bytes.length <= MAX_DOCUMENT_BYTES && verification !== null && verification.sha256 !== "";
  const resultId = await db.$transaction(async (tx) => {
    if (storable) {
      // Deduplicated by content: the same bytes (a replayed document) are stored once.
      await tx.attestationDocument.upsert({
        where: { sha256: verification.sha256 },
        create: { sha256: verification.sha256, bytes: Buffer.from(bytes!), size: bytes!.length, firstSeenAt: now },
        update: {},
      });
    }
    const result = await tx.attestationResult.create({
      data: {
        at: now,
        enclaveId: enclave.id,
        hostId: enclave.host.id,
        docSha256: storable ? verification.sha256 : null,
        nonce: nonceHex,
        state: transition.state,
        trusted: verification?.trusted ?? false,
        validAtIssuance: verification?.validAtIssuance ?? false,
        fresh: verification?.fresh ?? false,
        matchesPolicy: verification?.matchesPolicy ?? false,
        debug: verification?.debug === true,
        reasons: JSON.stringify(verification?.reasons ?? []),
        moduleId: doc?.moduleId ?? null,
        docTimestamp: doc?.timestamp ?? null,
        pcr0: doc?.pcrs[0] ?? null,
        pcr1: doc?.pcrs[1] ?? null,
        pcr2: doc?.pcrs[2] ?? null,
        pcr8: doc?.pcrs[8] ?? null,
        releaseId,
        policyHash: ctx.policy.hash,
        rootKind: verification?.root?.kind ?? null,
        error: outcome.kind === "error" ? outcome.message : null,
      },
    });
    await tx.enclave.update({
      where: { id: enclave.id },
      data: {
        attestationState: transition.state,
        attestedPcr0: transition.attestedPcr0,
        ...(verification ? { attestationCheckedAt: now, releaseId } : {}),
      },
    });
    for (const event of transition.events) {
      await tx.fleetEvent.create({
        data: { at: now, hostId: enclave.host.id, enclaveId: enclave.id, kind: event.kind, severity: event.severity, message: event.message, data: JSON.stringify({ ...event.data, resultId: result.id }) },
      });
    }
    return result.id;
  });
  return { enclaveId: enclave.id, state: transition.state, trusted: verification?.trusted ?? false, resultId, error: outcome.kind === "error" ? outcome.message : null };
}

const enclaveSelect = {
  id: true,
  name: true,
  state: true,
  attestationState: true,
  attestedPcr0: true,
  createdAt: true,
  host: { select: { id: true, name: true, agentUrl: true, agentCertSha256: true, instanceId: true, roleArn: true, status: true } },
} as const;

/** Attests every RUNNING enclave; enclaves of unreachable hosts age towards stale without an agent call. */
export async function attestFleet(db: Db, deps: AttestDeps = {}): Promise<EnclaveAttempt[]> {
  const ctx = await loadContext(db, deps);
  const enclaves = await db.enclave.findMany({ where: { state: "RUNNING" }, select: enclaveSelect, orderBy: { id: "asc" } });
  const results: EnclaveAttempt[] = [];
  const queue = [...enclaves];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const enclave = next;
      try {
        results.push(await attemptEnclave(db, enclave, ctx, enclave.host.status === "up"));
      } catch (error) {
        logger.warn({ enclave: enclave.id, err: error }, "attesting the enclave failed");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 8, enclaves.length)) }, worker));
  return results.sort((a, b) => a.enclaveId.localeCompare(b.enclaveId));
}

export class EnclaveNotAttestableError extends Error {}

/** "Attest now" for one enclave: contacts its agent even when the last poll found the host down. */
export async function attestEnclaveNow(db: Db, enclaveId: string, deps: AttestDeps = {}): Promise<EnclaveAttempt> {
  const enclave = await db.enclave.findUnique({ where: { id: enclaveId }, select: enclaveSelect });
  if (!enclave) throw new EnclaveNotAttestableError("No such enclave.");
  if (enclave.state !== "RUNNING") throw new EnclaveNotAttestableError(`The enclave is ${enclave.state.toLowerCase()}; only a running enclave can be attested.`);
  return attemptEnclave(db, enclave, await loadContext(db, deps), true);
}

/**
 * Retention: deletes raw documents first seen before `now - retentionDays` unless pinned (referenced by an evidence
 * export) or the latest document of some enclave (what its attestation page shows). Results keep their hash, so
 * the verdict history stays complete; only the bytes go.
 */
export async function pruneAttestationDocuments(db: Db, options: { retentionDays: number; now?: Date }): Promise<number> {
  if (!(Number.isFinite(options.retentionDays) && options.retentionDays >= 1)) throw new Error("retentionDays must be at least 1");
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const latest = await db.attestationResult.groupBy({ by: ["enclaveId"], where: { docSha256: { not: null } }, _max: { id: true } });
  const latestIds = latest.map((row) => row._max.id).filter((id): id is number => id !== null);
  const keep = latestIds.length
    ? (await db.attestationResult.findMany({ where: { id: { in: latestIds } }, select: { docSha256: true } })).map((row) => row.docSha256!).filter(Boolean)
    : [];
  const { count } = await db.attestationDocument.deleteMany({
    where: { firstSeenAt: { lt: cutoff }, pinned: false, ...(keep.length ? { sha256: { notIn: keep } } : {}) },
  });
  return count;
}

let lastPruneAt = 0;

/** The worker job body: attest the fleet, and prune old documents at most once an hour. */
export async function runAttestationJob(db: Db): Promise<void> {
  const results = await attestFleet(db);
  const untrusted = results.filter((result) => result.state === "untrusted").length;
  if (untrusted) logger.warn({ untrusted, enclaves: results.length }, "attestation: untrusted enclaves");
  if (Date.now() - lastPruneAt > 3_600_000) {
    lastPruneAt = Date.now();
    const pruned = await pruneAttestationDocuments(db, { retentionDays: Number(process.env.CONSOLE_ATTEST_RETENTION_DAYS ?? 30) });
    if (pruned) logger.info({ pruned }, "attestation: pruned raw documents past retention");
  }
}

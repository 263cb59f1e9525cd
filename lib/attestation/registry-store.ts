/**
 * Data access for approved builds and policies: the release registry (import, approve, revoke), the second-approver
 * setting and the versioned attestation policy per environment. Authorization happens in the server actions that
 * call these (and the chain audits them); these functions enforce the domain rules, so a script or a second
 * console replica cannot bypass them either.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client";
import { attestationPolicySchema, canonicalJson, hashPolicy, type AttestationPolicy } from "./policy";
import { approvalProblem, revocationProblem, type ReleaseImport } from "./release-rules";

/** A refusal whose message is meant for the person who asked (duplicate, wrong state, same approver...). */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

export interface Actor {
  id: string;
  email: string;
}

export const DEFAULT_ENVIRONMENT = "production";
export const DEFAULT_FRESHNESS_SECONDS = 300;
export const SECOND_APPROVER_SETTING = "attestation.requireSecondApprover";

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "P2002" || /unique|UNIQUE constraint|duplicate key/i.test(error instanceof Error ? error.message : "");
}

// ---------------------------------------------------------------- releases

async function duplicateOf(db: Db, input: ReleaseImport): Promise<string | null> {
  const sameName = await db.release.findUnique({ where: { name_version: { name: input.name, version: input.version } } });
  if (sameName) return `Release ${input.name} ${input.version} is already registered (${sameName.status}).`;
  const samePcr0 = await db.release.findUnique({ where: { pcr0: input.measurements.pcr0 } });
  if (samePcr0) return `This PCR0 is already registered as ${samePcr0.name} ${samePcr0.version} (${samePcr0.status}).`;
  return null;
}

export async function importRelease(db: Db, input: ReleaseImport, actor: Actor) {
  const duplicate = await duplicateOf(db, input);
  if (duplicate) throw new RegistryError(duplicate);
  try {
    return await db.release.create({
      data: {
        id: randomUUID(),
        name: input.name,
        version: input.version,
        sourceCommit: input.sourceCommit,
        pcr0: input.measurements.pcr0,
        pcr1: input.measurements.pcr1,
        pcr2: input.measurements.pcr2,
        pcr8: input.measurements.pcr8 ?? null,
        source: input.source,
        status: "pending",
        createdBy: actor.email,
      },
    });
  } catch (error) {
    // Two imports racing past the check above: the unique indexes decide, and the loser hears why.
    if (isUniqueViolation(error)) throw new RegistryError((await duplicateOf(db, input)) ?? "This release is already registered.");
    throw error;
  }
}

export async function requireSecondApprover(db: Db): Promise<boolean> {
  const setting = await db.setting.findUnique({ where: { key: SECOND_APPROVER_SETTING } });
  return setting?.value === "true";
}

export async function setRequireSecondApprover(db: Db, value: boolean, actor: Actor): Promise<void> {
  await db.setting.upsert({
    where: { key: SECOND_APPROVER_SETTING },
    create: { key: SECOND_APPROVER_SETTING, value: String(value), updatedBy: actor.email },
    update: { value: String(value), updatedBy: actor.email },
  });
}

export async function approveRelease(db: Db, releaseId: string, actor: Actor) {
  const release = await db.release.findUnique({ where: { id: releaseId } });
  if (!release) throw new RegistryError("No such release.");
  const problem = approvalProblem(release, actor.email, await requireSecondApprover(db));
  if (problem) throw new RegistryError(problem);
  // Conditional update: a concurrent revoke or approve in between wins, and this one is refused.
  const { count } = await db.release.updateMany({
    where: { id: releaseId, status: "pending" },
    data: { status: "approved", approvedBy: actor.email, approvedAt: new Date() },
  });
  if (count !== 1) throw new RegistryError("The release changed meanwhile; reload and try again.");
  return db.release.findUniqueOrThrow({ where: { id: releaseId } });
}

export async function revokeRelease(db: Db, releaseId: string, reason: string, actor: Actor) {
  const release = await db.release.findUnique({ where: { id: releaseId } });
  if (!release) throw new RegistryError("No such release.");
  const problem = revocationProblem(release);
  if (problem) throw new RegistryError(problem);
  const { count } = await db.release.updateMany({
    where: { id: releaseId, status: { not: "revoked" } },
    data: { status: "revoked", revokedBy: actor.email, revokedAt: new Date(), revokeReason: reason },
  });
  if (count !== 1) throw new RegistryError("The release changed meanwhile; reload and try again.");
  return db.release.findUniqueOrThrow({ where: { id: releaseId } });
}

export async function listReleases(db: Db, filter: { status?: string } = {}) {
  return db.release.findMany({ where: filter.status ? { status: filter.status } : {}, orderBy: [{ createdAt: "desc" }, { name: "asc" }] });
}

// ---------------------------------------------------------------- policies

export function defaultPolicy(environment: string): AttestationPolicy {
  return { environment, allowedReleaseIds: [], allowDebug: false, freshnessSeconds: DEFAULT_FRESHNESS_SECONDS };
}

export interface StoredPolicy {
  /** 0 when the environment has no stored version yet and the default applies. */
  version: number;
  body: AttestationPolicy;
  hash: string;
  createdAt: Date | null;
  createdBy: string | null;
}

function toStored(row: { version: number; body: string; hash: string; createdAt: Date; createdBy: string }): StoredPolicy {
  // Stored bodies were validated on the way in; parse again so a hand-edited row fails loudly, not silently.
  const body = attestationPolicySchema.parse(JSON.parse(row.body));
  return { version: row.version, body, hash: row.hash, createdAt: row.createdAt, createdBy: row.createdBy };
}

/** The policy in force for an environment: its highest version, or the built-in default (version 0). */
export async function currentPolicy(db: Db, environment = DEFAULT_ENVIRONMENT): Promise<StoredPolicy> {
  const row = await db.policyVersion.findFirst({ where: { environment }, orderBy: { version: "desc" } });
  if (row) return toStored(row);
  const body = defaultPolicy(environment);
  return { version: 0, body, hash: hashPolicy(body), createdAt: null, createdBy: null };
}

/**
 * The policy a verdict is judged by must be citable, so the first attestation of an environment stores the default
 * as version 1 (created by "system") instead of judging by a policy that exists nowhere.
 */
export async function ensurePolicy(db: Db, environment = DEFAULT_ENVIRONMENT): Promise<StoredPolicy> {
  const current = await currentPolicy(db, environment);
  if (current.version > 0) return current;
  try {
    await db.policyVersion.create({ data: { environment, version: 1, body: canonicalJson(current.body), hash: current.hash, createdBy: "system" } });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error; // another worker stored it first
  }
  return currentPolicy(db, environment);
}

export type PolicyInput = Omit<AttestationPolicy, "environment">;

/**
 * Stores a new version of an environment's policy. Allowed releases must exist and be approved at the time of the
 * change (the worker also ignores any that are revoked later). Saving a body equal to the current one is refused:
 * a version that changes nothing would only blur the history.
 */
export async function savePolicy(db: Db, environment: string, input: PolicyInput, actor: Actor): Promise<StoredPolicy> {
  const parsed = attestationPolicySchema.safeParse({ ...input, environment });
  if (!parsed.success) throw new RegistryError(parsed.error.issues.map((issue) => issue.message).join("; "));
  const body = parsed.data;
  const releases = await db.release.findMany({ where: { id: { in: body.allowedReleaseIds } }, select: { id: true, status: true, name: true, version: true } });
  for (const id of body.allowedReleaseIds) {
    const release = releases.find((candidate) => candidate.id === id);
    if (!release) throw new RegistryError(`Release ${id} does not exist.`);
    if (release.status !== "approved") throw new RegistryError(`Release ${release.name} ${release.version} is ${release.status}; only approved releases can be allowed.`);
  }
  const hash = hashPolicy(body);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const current = await currentPolicy(db, environment);
    if (current.version > 0 && current.hash === hash) throw new RegistryError(`Nothing changed: this is already version ${current.version}.`);
    try {
      const row = await db.policyVersion.create({
        data: { environment, version: current.version + 1, body: canonicalJson(body), hash, createdBy: actor.email },
      });
      return toStored(row);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error; // a concurrent save took this version number: read again
    }
  }
  throw new RegistryError("The policy is being changed by someone else; reload and try again.");
}

export async function listPolicyVersions(db: Db, environment = DEFAULT_ENVIRONMENT) {
  const rows = await db.policyVersion.findMany({ where: { environment }, orderBy: { version: "desc" }, take: 100 });
  return rows.map(toStored);
}

export async function listPolicyEnvironments(db: Db): Promise<string[]> {
  const rows = await db.policyVersion.findMany({ distinct: ["environment"], select: { environment: true }, orderBy: { environment: "asc" } });
  const names = new Set([DEFAULT_ENVIRONMENT, ...rows.map((row) => row.environment)]);
  return [...names].sort();
}

/**
 * Makes sure the environment's policy allows these (approved) releases, adding a version only when one is missing.
 * Idempotent, for seeding (the lab) and scripts; people use savePolicy through the policy page.
 */
export async function allowReleases(db: Db, environment: string, releaseIds: readonly string[], actor: Actor): Promise<StoredPolicy> {
  const current = await currentPolicy(db, environment);
  const missing = releaseIds.filter((id) => !current.body.allowedReleaseIds.includes(id));
  if (missing.length === 0 && current.version > 0) return current;
  const { environment: _environment, ...body } = current.body;
  return savePolicy(db, environment, { ...body, allowedReleaseIds: [...body.allowedReleaseIds, ...missing] }, actor);
}

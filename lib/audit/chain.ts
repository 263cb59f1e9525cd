/**
 * The audit trail's hash chain, pure: hash = SHA-256(prevHash || canonical JSON of the record's fields).
 * The first record links to GENESIS_HASH. Verification walks records in seq order and reports the first broken link.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditFields {
  seq: number;
  at: Date;
  actorId: string | null;
  actorName: string;
  actorRole: string;
  action: string;
  target: string;
  /** canonical JSON of the parameters (secrets removed before this point) */
  params: string;
  outcome: string;
  requestId: string;
}

export interface ChainedAuditRecord extends AuditFields {
  prevHash: string;
  hash: string;
}

export function hashAuditRecord(prevHash: string, fields: AuditFields): string {
  // Only the listed fields are hashed, whatever else the caller's object carries (e.g. a row with its own hash).
  const body = canonicalJson({
    seq: fields.seq,
    at: fields.at.toISOString(),
    actorId: fields.actorId,
    actorName: fields.actorName,
    actorRole: fields.actorRole,
    action: fields.action,
    target: fields.target,
    params: fields.params,
    outcome: fields.outcome,
    requestId: fields.requestId,
  });
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}

export type ChainBreak =
  | { seq: number; reason: "gap"; expectedSeq: number }
  | { seq: number; reason: "prev_hash_mismatch"; expected: string; found: string }
  | { seq: number; reason: "hash_mismatch"; expected: string; found: string };

export interface ChainVerifier {
  /** Feed records in ascending seq order; returns the first break, or null while the chain holds. */
  push(record: ChainedAuditRecord): ChainBreak | null;
  readonly checked: number;
  readonly lastHash: string;
}

export function createChainVerifier(): ChainVerifier {
  let expectedSeq = 1;
  let lastHash = GENESIS_HASH;
  let checked = 0;
  return {
    push(record) {
      if (record.seq !== expectedSeq) return { seq: record.seq, reason: "gap", expectedSeq };
      if (record.prevHash !== lastHash) return { seq: record.seq, reason: "prev_hash_mismatch", expected: lastHash, found: record.prevHash };
      const expected = hashAuditRecord(record.prevHash, record);
      if (record.hash !== expected) return { seq: record.seq, reason: "hash_mismatch", expected, found: record.hash };
      lastHash = record.hash;
      expectedSeq += 1;
      checked += 1;
      return null;
    },
    get checked() {
      return checked;
    },
    get lastHash() {
      return lastHash;
    },
  };
}

const SECRET_KEY = /pass(word)?|secret|token|private|ciphertext|plaintext|credential|cookie|authorization/i;

/** Parameters as they are stored in the trail: secret-looking keys are replaced, long strings truncated. */
export function redactParams(params: unknown): unknown {
  if (Array.isArray(params)) return params.slice(0, 100).map(redactParams);
  if (params && typeof params === "object" && !(params instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params as Record<string, unknown>)) {
      out[key] = SECRET_KEY.test(key) ? "[redacted]" : redactParams(value);
    }
    return out;
  }
  if (typeof params === "string" && params.length > 2000) return `${params.slice(0, 2000)}…[${params.length} chars]`;
  return params;
}

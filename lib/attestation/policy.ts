/**
 * Attestation policies: which releases an environment accepts, whether debug enclaves are tolerated and how fresh
 * a document must be. A policy is identified by the hash of its canonical JSON, so the same body always has the
 * same id whichever process wrote it (and evidence bundles can cite the exact policy a verdict was reached under).
 */
import { createHash } from "node:crypto";
import { z } from "zod";

export const attestationPolicySchema = z
  .strictObject({
    environment: z.string().trim().min(1).max(64),
    allowedReleaseIds: z
      .array(z.string().min(1))
      .refine((ids) => new Set(ids).size === ids.length, { message: "allowedReleaseIds must not repeat an id" }),
    allowDebug: z.boolean(),
    freshnessSeconds: z.number().int().min(30).max(86_400),
  })
  .superRefine((policy, ctx) => {
    // A debug enclave's memory is readable from the host: never acceptable where real data lives.
    if (policy.allowDebug && policy.environment.trim().toLowerCase() === "production") {
      ctx.addIssue({ code: "custom", path: ["allowDebug"], message: "allowDebug must be false in production" });
    }
  });

export type AttestationPolicy = z.infer<typeof attestationPolicySchema>;

/** JSON with object keys sorted at every level (arrays keep their order); rejects values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("canonical JSON cannot represent a non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  throw new Error(`canonical JSON cannot represent a ${typeof value}`);
}

/** SHA-256 (hex) of the canonical JSON of a policy body. */
export function hashPolicy(body: object): string {
  return createHash("sha256").update(canonicalJson(body), "utf8").digest("hex");
}

/**
 * Rules of continuous attestation (pure, no I/O): which release a document claims to be, what the enclave's
 * attestation state becomes after an attempt, and which fleet events that raises. Kept apart from the worker so
 * every transition can be tested without a database or an agent.
 *
 * States: trusted (fresh document, verified to a pinned root, matching an approved release allowed by the policy),
 * untrusted (a document arrived and failed any check: sticky until a trusted one arrives, so an unreachable agent
 * never turns red into amber), stale (no fresh verified document within the freshness window), unknown (never
 * attested and still inside the window).
 */
import type { AttestationVerification, Reason } from "./types";

export type AttestationState = "trusted" | "untrusted" | "stale" | "unknown";
export const ATTESTATION_STATES: readonly AttestationState[] = ["trusted", "untrusted", "stale", "unknown"];

export interface CandidateRelease {
  id: string;
  name: string;
  version: string;
  pcr0: string;
  pcr1: string;
  pcr2: string;
  pcr8: string | null;
}

/** The approved release (among those the policy allows) whose PCR0 equals the document's, if any. */
export function matchRelease<R extends CandidateRelease>(pcr0: string | undefined, allowed: readonly R[]): R | null {
  if (!pcr0) return null;
  const wanted = pcr0.toLowerCase();
  return allowed.find((release) => release.pcr0.toLowerCase() === wanted) ?? null;
}

/** The PCRs the verifier must find for a release: 0, 1, 2 and 8 when the image was signed. */
export function expectedPcrsOf(release: CandidateRelease): Record<number, string> {
  const pcrs: Record<number, string> = { 0: release.pcr0, 1: release.pcr1, 2: release.pcr2 };
  if (release.pcr8) pcrs[8] = release.pcr8;
  return pcrs;
}

export interface PreviousAttestation {
  state: string;
  attestedPcr0: string | null;
  /** Timestamp of the last document that verified as trusted (null when none ever did). */
  lastTrustedDocumentAt: Date | null;
  /** When the console first saw this enclave: the window of a never-attested enclave starts there. */
  firstSeenAt: Date;
}

export type AttemptOutcome =
  | { kind: "document"; verification: AttestationVerification }
  | { kind: "error"; message: string };

export interface FleetEventDraft {
  kind: `attestation.${string}`;
  severity: "critical" | "warning" | "info";
  message: string;
  data: Record<string, unknown>;
}

export interface Transition {
  state: AttestationState;
  /** PCR0 the enclave proved (kept from before when no document arrived). */
  attestedPcr0: string | null;
  events: FleetEventDraft[];
}

const codesOf = (reasons: readonly Reason[]) => [...new Set(reasons.map((reason) => reason.code))].sort();

/**
 * The next state after one attempt, and the events it raises. `label` names the enclave in messages.
 * `previousReasonCodes` (of the last stored result) avoids repeating the same untrusted alert every round.
 */
export function nextAttestation(input: {
  previous: PreviousAttestation;
  outcome: AttemptOutcome;
  now: Date;
  freshnessMs: number;
  label: string;
  previousReasonCodes?: readonly string[];
}): Transition {
  const { previous, outcome, now, freshnessMs, label } = input;
  const events: FleetEventDraft[] = [];

  if (outcome.kind === "error") {
    const since = previous.lastTrustedDocumentAt ?? previous.firstSeenAt;
    const overdue = now.getTime() - since.getTime() > freshnessMs;
    let state: AttestationState;
    if (previous.state === "untrusted") state = "untrusted";
    else if (overdue) state = "stale";
    else state = previous.state === "trusted" ? "trusted" : previous.state === "stale" ? "stale" : "unknown";
    if (state === "stale" && previous.state !== "stale") {
      events.push({
        kind: "attestation.stale",
        severity: "critical",
        message: `${label}: no fresh attestation document for more than ${Math.round(freshnessMs / 1000)} s (${outcome.message})`,
        data: { lastTrustedDocumentAt: previous.lastTrustedDocumentAt?.toISOString() ?? null, error: outcome.message },
      });
    }
    return { state, attestedPcr0: previous.attestedPcr0, events };
  }

  const verification = outcome.verification;
  const pcr0 = verification.document?.pcrs[0] ?? null;
  // Only a document that is authentic can say what the enclave runs; a forged one must not move attestedPcr0.
  const authentic = verification.validAtIssuance;
  const attestedPcr0 = authentic && pcr0 ? pcr0 : previous.attestedPcr0;
  const state: AttestationState = verification.trusted ? "trusted" : "untrusted";

  if (authentic && pcr0 && previous.attestedPcr0 && previous.attestedPcr0 !== pcr0) {
    events.push({
      kind: "attestation.pcr0_changed",
      severity: "critical",
      message: `${label}: PCR0 changed from ${previous.attestedPcr0.slice(0, 16)}… to ${pcr0.slice(0, 16)}…`,
      data: { from: previous.attestedPcr0, to: pcr0 },
    });
  }
  if (verification.debug === true && authentic) {
    events.push({
      kind: "attestation.debug",
      severity: "critical",
      message: `${label}: the enclave runs in debug mode (PCR0/1/2 are zero); the host can read its memory`,
      data: { moduleId: verification.document?.moduleId ?? null },
    });
  }
  if (state === "untrusted") {
    const codes = codesOf(verification.reasons);
    const repeated = previous.state === "untrusted" && sameCodes(codes, input.previousReasonCodes ?? []);
    if (!repeated) {
      events.push({
        kind: verification.reasons.some((reason) => reason.code === "pcr.mismatch") ? "attestation.mismatch" : "attestation.untrusted",
        severity: "critical",
        message: `${label}: attestation failed: ${verification.reasons.map((reason) => reason.message).join("; ") || "not trusted"}`,
        data: { codes, sha256: verification.sha256 },
      });
    }
  } else if (previous.state === "untrusted" || previous.state === "stale") {
    events.push({ kind: "attestation.recovered", severity: "info", message: `${label}: attested as trusted again`, data: { sha256: verification.sha256 } });
  }
  return { state, attestedPcr0, events };
}

function sameCodes(a: readonly string[], b: readonly string[]): boolean {
  const sortedB = [...new Set(b)].sort();
  return a.length === sortedB.length && a.every((code, index) => code === sortedB[index]);
}

export interface PcrByte {
  actual: string | null;
  expected: string | null;
  differs: boolean;
}

/** Byte-by-byte comparison of two PCR values (hex); a missing side shows as null and counts as a difference. */
export function pcrByteDiff(actual: string | null | undefined, expected: string | null | undefined): PcrByte[] {
  const a = (actual ?? "").toLowerCase();
  const e = (expected ?? "").toLowerCase();
  const length = Math.max(a.length, e.length) / 2;
  const out: PcrByte[] = [];
  for (let index = 0; index < Math.ceil(length); index += 1) {
    const actualByte = a.length >= index * 2 + 2 ? a.slice(index * 2, index * 2 + 2) : null;
    const expectedByte = e.length >= index * 2 + 2 ? e.slice(index * 2, index * 2 + 2) : null;
    out.push({ actual: actualByte, expected: expectedByte, differs: actualByte !== expectedByte });
  }
  return out;
}

/**
 * Position on a symmetric-log time axis centred on `now`, in [0, 1]. Certificate lifetimes in one chain range from
 * 3 hours (leaf) to 30 years (root): on a linear axis the leaf would be invisible, on this one each order of
 * magnitude gets the same width and "now" sits in the middle.
 */
export function timeAxisPosition(at: number, now: number, spanMs: number, unitMs = 60_000): number {
  const scale = (ms: number) => Math.sign(ms) * Math.log10(1 + Math.abs(ms) / unitMs);
  const max = scale(spanMs);
  const value = Math.max(-max, Math.min(max, scale(at - now)));
  return (value + max) / (2 * max);
}

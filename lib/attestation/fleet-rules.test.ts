import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttestationSigner } from "../../enclave/lab/nitro/attestation-signer";
import { ensureLabCa, type LabCa } from "../../enclave/lab/nitro/lab-ca";
import { judgeDocument } from "./fleet-attestation";
import { matchRelease, nextAttestation, pcrByteDiff, timeAxisPosition, type PreviousAttestation } from "./fleet-rules";
import { hashPolicy } from "./policy";
import { approvalProblem, releaseImportSchema, revocationProblem } from "./release-rules";
import { trustedRootFromPem } from "./roots";
import type { AttestationVerification } from "./types";

const NOW = new Date("2026-01-10T12:00:00Z");
const PCR0 = "11".repeat(48);
const OTHER = "22".repeat(48);

function verification(overrides: Partial<AttestationVerification> & { pcr0?: string }): AttestationVerification {
  const { pcr0 = PCR0, ...rest } = overrides;
  return {
    trusted: true,
    reasons: [],
    sha256: "ab".repeat(32),
    verifiedAt: NOW,
    document: { moduleId: "i-1-enc1", digest: "SHA384", timestamp: NOW, timestampMs: NOW.getTime(), pcrs: { 0: pcr0 }, certificate: { sha256: "", length: 0 }, cabundle: [], publicKey: null, userData: null, nonce: null },
    chain: [],
    root: { kind: "lab", label: "lab", sha256: "" },
    debug: false,
    validAtIssuance: true,
    validNow: true,
    fresh: true,
    matchesPolicy: true,
    ...rest,
  };
}

const previous = (overrides: Partial<PreviousAttestation> = {}): PreviousAttestation => ({
  state: "trusted",
  attestedPcr0: PCR0,
  lastTrustedDocumentAt: new Date(NOW.getTime() - 30_000),
  firstSeenAt: new Date(NOW.getTime() - 3_600_000),
  ...overrides,
});

const step = (prev: PreviousAttestation, outcome: Parameters<typeof nextAttestation>[0]["outcome"], previousReasonCodes: string[] = []) =>
  nextAttestation({ previous: prev, outcome, now: NOW, freshnessMs: 60_000, label: "E", previousReasonCodes });

describe("attestation state transitions", () => {
  it("trusted stays trusted without events; unknown becomes trusted quietly; untrusted/stale recover with an info event", () => {
    expect(step(previous(), { kind: "document", verification: verification({}) })).toEqual({ state: "trusted", attestedPcr0: PCR0, events: [] });
    expect(step(previous({ state: "unknown", attestedPcr0: null }), { kind: "document", verification: verification({}) }).events).toEqual([]);
    for (const state of ["untrusted", "stale"]) {
      expect(step(previous({ state }), { kind: "document", verification: verification({}) }).events.map((event) => [event.kind, event.severity])).toEqual([["attestation.recovered", "info"]]);
    }
  });

  it("a changed PCR0 is critical even when the new image is also trusted", () => {
    const result = step(previous(), { kind: "document", verification: verification({ pcr0: OTHER }) });
    expect(result.state).toBe("trusted");
    expect(result.attestedPcr0).toBe(OTHER);
    expect(result.events).toEqual([expect.objectContaining({ kind: "attestation.pcr0_changed", severity: "critical", data: { from: PCR0, to: OTHER } })]);
  });

  it("a forged document (not valid at issuance) cannot move attestedPcr0 or claim a PCR0 change", () => {
    const forged = verification({ pcr0: OTHER, trusted: false, validAtIssuance: false, reasons: [{ code: "cose.bad_signature", message: "bad" }] });
    const result = step(previous(), { kind: "document", verification: forged });
    expect(result).toMatchObject({ state: "untrusted", attestedPcr0: PCR0 });
    expect(result.events.map((event) => event.kind)).toEqual(["attestation.untrusted"]);
  });

  it("untrusted results alert once per distinct set of reasons; mismatches get their own kind; debug is critical", () => {
    const mismatch = verification({ trusted: false, matchesPolicy: false, reasons: [{ code: "pcr.mismatch", message: "no release" }] });
    expect(step(previous(), { kind: "document", verification: mismatch }).events.map((event) => event.kind)).toEqual(["attestation.mismatch"]);
    expect(step(previous({ state: "untrusted" }), { kind: "document", verification: mismatch }, ["pcr.mismatch"]).events).toEqual([]);
    expect(step(previous({ state: "untrusted" }), { kind: "document", verification: mismatch }, ["nonce.mismatch"]).events).toHaveLength(1);
    const debug = verification({ pcr0: "0".repeat(96), debug: true, trusted: false, reasons: [{ code: "doc.debug_mode", message: "debug" }] });
    const result = step(previous({ attestedPcr0: null, state: "unknown" }), { kind: "document", verification: debug });
    expect(result.events.map((event) => `${event.kind}/${event.severity}`)).toEqual(["attestation.debug/critical", "attestation.untrusted/critical"]);
  });

  it("errors: keep the state within the window, stale after it (once), untrusted stays untrusted, never trusted from unknown", () => {
    const error = { kind: "error" as const, message: "agent unreachable" };
    expect(step(previous(), error)).toEqual({ state: "trusted", attestedPcr0: PCR0, events: [] });
    const late = step(previous({ lastTrustedDocumentAt: new Date(NOW.getTime() - 61_000) }), error);
    expect(late.state).toBe("stale");
    expect(late.events).toEqual([expect.objectContaining({ kind: "attestation.stale", severity: "critical" })]);
    expect(step(previous({ state: "stale", lastTrustedDocumentAt: new Date(0) }), error).events).toEqual([]);
    expect(step(previous({ state: "untrusted", lastTrustedDocumentAt: new Date(0) }), error).state).toBe("untrusted");
    expect(step(previous({ state: "unknown", attestedPcr0: null, lastTrustedDocumentAt: null, firstSeenAt: new Date(NOW.getTime() - 10_000) }), error).state).toBe("unknown");
    expect(step(previous({ state: "unknown", attestedPcr0: null, lastTrustedDocumentAt: null, firstSeenAt: new Date(NOW.getTime() - 70_000) }), error).state).toBe("stale");
  });
});

describe("PCR byte diff, release matching and the time axis", () => {
  it("marks exactly the differing bytes", () => {
    const expected = "00".repeat(48);
    const actual = `${"00".repeat(3)}ff${"00".repeat(43)}0a`;
    const diff = pcrByteDiff(actual, expected);
    expect(diff).toHaveLength(48);
    expect(diff.flatMap((byte, index) => (byte.differs ? [index] : []))).toEqual([3, 47]);
    expect(diff[3]).toEqual({ actual: "ff", expected: "00", differs: true });
    expect(pcrByteDiff("ABCD", "abcd").every((byte) => !byte.differs)).toBe(true);
    expect(pcrByteDiff(null, "abcd")).toEqual([
      { actual: null, expected: "ab", differs: true },
      { actual: null, expected: "cd", differs: true },
    ]);
  });

  it("matches releases by PCR0, case-insensitively, and nothing without a PCR0", () => {
    const releases = [{ id: "r1", name: "a", version: "1", pcr0: PCR0.toUpperCase(), pcr1: "", pcr2: "", pcr8: null }];
    expect(matchRelease(PCR0, releases)?.id).toBe("r1");
    expect(matchRelease(OTHER, releases)).toBeNull();
    expect(matchRelease(undefined, releases)).toBeNull();
  });

  it("puts now in the middle of the axis and orders instants on a log scale", () => {
    const now = NOW.getTime();
    const span = 40 * 365 * 86_400_000;
    expect(timeAxisPosition(now, now, span)).toBeCloseTo(0.5);
    expect(timeAxisPosition(now + span * 2, now, span)).toBe(1);
    expect(timeAxisPosition(now - span * 2, now, span)).toBe(0);
    const hourAgo = timeAxisPosition(now - 3_600_000, now, span);
    const yearAgo = timeAxisPosition(now - 365 * 86_400_000, now, span);
    expect(yearAgo).toBeLessThan(hourAgo);
    // A 3-hour leaf is still a visible bar (more than 5% of the width) next to a 30-year root.
    expect(timeAxisPosition(now + 2 * 3_600_000, now, span) - hourAgo).toBeGreaterThan(0.05);
  });
});

describe("release rules", () => {
  it("reports each bad PCR of the build output as a field error of buildOutput", () => {
    const bad = releaseImportSchema.safeParse({
      name: "acra-server",
      version: "1.0.0",
      buildOutput: JSON.stringify({ Measurements: { HashAlgorithm: "Sha384 { ... }", PCR0: "ab".repeat(48), PCR1: "xyz", PCR2: "ab".repeat(47) } }),
    });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.filter((issue) => issue.path[0] === "buildOutput").map((issue) => issue.message);
    expect(issues).toEqual([expect.stringMatching(/^Measurements\.PCR1: expected 96 hex characters/), expect.stringMatching(/^Measurements\.PCR2: expected 96 hex characters/)]);
    const missing = releaseImportSchema.safeParse({ name: "", version: "1 0", sourceCommit: "zz", buildOutput: "" });
    expect([...new Set(missing.error!.issues.map((issue) => issue.path[0]))].sort()).toEqual(["buildOutput", "name", "sourceCommit", "version"]);
  });

  it("approval needs a pending release and, with the setting on, someone other than the importer", () => {
    const release = { status: "pending", createdBy: "ana@example.com" };
    expect(approvalProblem(release, "ana@example.com", false)).toBeNull();
    expect(approvalProblem(release, "Ana@Example.com", true)).toMatch(/second person/);
    expect(approvalProblem(release, "bob@example.com", true)).toBeNull();
    expect(approvalProblem({ ...release, status: "revoked" }, "bob@example.com", false)).toMatch(/revoked/);
    expect(revocationProblem({ ...release, status: "revoked" })).toMatch(/already revoked/);
    expect(revocationProblem(release)).toBeNull();
  });
});

describe("judging real lab-signed documents (in-process signer)", () => {
  let tmp: string;
  let ca: LabCa;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "judge-"));
    ca = await ensureLabCa(path.join(tmp, "lab-ca"));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const policy = (environment: string, allowDebug: boolean) => {
    const body = { environment, allowedReleaseIds: ["r1"], allowDebug, freshnessSeconds: 60 };
    return { version: 4, body, hash: hashPolicy(body), createdAt: null, createdBy: null };
  };
  const release = { id: "r1", name: "acra-server", version: "1", pcr0: "aa".repeat(48), pcr1: "bb".repeat(48), pcr2: "cc".repeat(48), pcr8: null };

  async function document(debugMode: boolean, nonceHex: string, pcr2 = release.pcr2) {
    const signer = new AttestationSigner({ ca, region: "us-east-1", parentInstanceId: "i-0aaa", enclaveId: "i-0aaa-enc01", roleArn: null, measurements: { pcr0: release.pcr0, pcr1: release.pcr1, pcr2 }, debugMode });
    return signer.attest({ nonce: Buffer.from(nonceHex, "hex") });
  }

  it("checks PCR1/PCR2 of the release matched by PCR0, the nonce, and the parent instance", async () => {
    const roots = [trustedRootFromPem(ca.rootPem, "lab", "lab")];
    const nonce = "42".repeat(32);
    const at = new Date();
    const input = { nonceHex: nonce, at, policy: policy("production", false), allowed: [release], host: { instanceId: "i-0aaa", roleArn: "" }, roots };
    expect(judgeDocument(await document(false, nonce), input)).toMatchObject({ releaseId: "r1", verification: { trusted: true, reasons: [] } });
    const tampered = judgeDocument(await document(false, nonce, "dd".repeat(48)), input);
    expect(tampered.verification.trusted).toBe(false);
    expect(tampered.verification.reasons.map((reason) => reason.code)).toEqual(["pcr.mismatch"]);
    const wrongHost = judgeDocument(await document(false, nonce), { ...input, host: { instanceId: "i-0bbb", roleArn: "" } });
    expect(wrongHost.verification.reasons.map((reason) => reason.code)).toEqual(["pcr.instance_mismatch"]);
    const otherNonce = judgeDocument(await document(false, "43".repeat(32)), input);
    expect(otherNonce.verification.reasons.map((reason) => reason.code)).toEqual(["nonce.mismatch"]);
  });

  it("never trusts a debug document in production; a policy allowing debug trusts it without a release", async () => {
    const roots = [trustedRootFromPem(ca.rootPem, "lab", "lab")];
    const nonce = "24".repeat(32);
    const doc = await document(true, nonce);
    const base = { nonceHex: nonce, at: new Date(), allowed: [release], host: { instanceId: "i-0aaa", roleArn: "" }, roots };
    const production = judgeDocument(doc, { ...base, policy: policy("production", false) });
    expect(production.verification.trusted).toBe(false);
    expect(production.verification.reasons.map((reason) => reason.code)).toEqual(["doc.debug_mode", "pcr.mismatch"]);
    const staging = judgeDocument(doc, { ...base, policy: policy("staging", true) });
    expect(staging).toMatchObject({ releaseId: null, verification: { trusted: true, debug: true } });
  });
});

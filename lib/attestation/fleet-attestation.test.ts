/**
 * The attestation job against a REAL host agent (enclave/agent, simulator backend, real mutual TLS with the agent's
 * certificate pinned) whose enclaves are stand-in processes serving REAL lab-signed documents (the lab CA and the
 * NSM-shaped signer of enclave/lab/nitro). The console side runs its production path: agentClientFor() with the
 * client certificate from CONSOLE_AGENT_CLIENT_CERT/KEY and the lab root from CONSOLE_LAB_ROOT_PEM_FILE.
 * Results are stored in real SQLite and PostgreSQL databases.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { ensureLabAgentCerts } from "../../enclave/agent/certs";
import { simulatorAgentTestConfig } from "../../enclave/agent/test-support";
import { writeLabEif } from "../../enclave/agent/lab-eif";
import { startAgent, type RunningAgent } from "../../enclave/agent/server";
import { ensureLabCa } from "../../enclave/lab/nitro/lab-ca";
import { createAgentClient, type AgentClient } from "../fleet/agent-client";
import type { Operation } from "../fleet/agent-protocol";
import { attestEnclaveNow, attestFleet, configuredTrustedRoots, pruneAttestationDocuments } from "./fleet-attestation";
import { approveRelease, ensurePolicy, importRelease, savePolicy } from "./registry-store";
import { releaseImportSchema } from "./release-rules";

const STAND_IN = path.join(__dirname, "testdata", "attesting-stand-in-enclave.ts");
const INSTANCE_ID = "i-0a1b2c3d4e5f60718";
const ROLE_ARN = "arn:aws:iam::111122223333:role/acra-enclave-role";
const ana = { id: "u-ana", email: "ana@example.com" };
const bob = { id: "u-bob", email: "bob@example.com" };

let tmp: string;
let agent: RunningAgent;
let client: AgentClient;
let measurements: { PCR0: string; PCR1: string; PCR2: string };
let enclaveId: string;
let debugEnclaveId: string;
const savedEnv: Record<string, string | undefined> = {};

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startEnclave(eifPath: string, key: string, debugMode: boolean): Promise<string> {
  const { operation } = await client.startOperation({ kind: "start", idempotencyKey: key, params: { eifUri: `file://${eifPath}`, cpuCount: 1, memoryMiB: 512, debugMode } });
  const done = await waitFor<Operation>(`operation ${operation.id}`, async () => {
    const op = await client.getOperation(operation.id);
    return op.status === "succeeded" || op.status === "failed" ? op : undefined;
  });
  if (done.status !== "succeeded") throw new Error(`enclave did not start: ${JSON.stringify(done.error)}`);
  return String(done.result?.enclaveId);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attest-job-"));
  const certs = await ensureLabAgentCerts(path.join(tmp, "certs"), "attest-host");
  const labCa = await ensureLabCa(path.join(tmp, "lab-ca"));
  const labRootFile = path.join(tmp, "lab-root.pem");
  fs.writeFileSync(labRootFile, labCa.rootPem);
  const eifPath = path.join(tmp, "eifs", "acra-server-0.96.0-7.eif");
  const eif = await writeLabEif(eifPath, { name: "acra-server", version: "0.96.0-7" });
  measurements = { PCR0: eif.Measurements.PCR0, PCR1: eif.Measurements.PCR1, PCR2: eif.Measurements.PCR2 };
  const config = simulatorAgentTestConfig({
    tmp,
    hostId: "attest-host",
    host: { instanceId: INSTANCE_ID, region: "eu-west-1", availabilityZone: "eu-west-1a", roleArn: ROLE_ARN },
    enclaveCommand: { command: process.execPath, args: ["--import", "tsx", STAND_IN] },
    waitHealthyTimeoutMs: 20_000,
  });
  agent = await startAgent(config);
  client = createAgentClient({
    url: agent.url,
    certSha256: agent.certSha256,
    clientCertPem: certs.consoleClient.certPem,
    clientKeyPem: certs.consoleClient.keyPem,
    caPem: certs.agentCaPem,
    timeoutMs: 10_000,
  });
  [enclaveId, debugEnclaveId] = await Promise.all([startEnclave(eifPath, "attest-start-1", false), startEnclave(eifPath, "attest-start-debug", true)]);

  // The console's own configuration, exactly as in production: client identity files and the lab root file.
  for (const key of ["CONSOLE_AGENT_CLIENT_CERT", "CONSOLE_AGENT_CLIENT_KEY", "CONSOLE_AGENT_CA", "CONSOLE_LAB_ROOT_PEM_FILE"]) savedEnv[key] = process.env[key];
  process.env.CONSOLE_AGENT_CLIENT_CERT = certs.files.consoleClientCert;
  process.env.CONSOLE_AGENT_CLIENT_KEY = certs.files.consoleClientKey;
  process.env.CONSOLE_AGENT_CA = certs.files.agentCa;
  process.env.CONSOLE_LAB_ROOT_PEM_FILE = labRootFile;
}, 90_000);

afterAll(async () => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await agent?.close({ terminateEnclaves: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

function enclaveDir(id: string): string {
  return path.join(tmp, "data", "simulator", "enclaves", id);
}

it("trusts the AWS root and the configured lab root, reporting the lab one as such", () => {
  expect(configuredTrustedRoots().map((root) => root.kind)).toEqual(["aws", "lab"]);
});

describe.each(TEST_DB_KINDS)("attestation job against a real agent, stored in %s", (kind) => {
  let test: TestDatabase;
  const events = (where: Record<string, unknown> = {}) => test.db.fleetEvent.findMany({ where: { enclaveId, ...where }, orderBy: { id: "asc" } });
  const enclaveRow = () => test.db.enclave.findUniqueOrThrow({ where: { id: enclaveId } });

  beforeAll(async () => {
    test = await createTestDatabase(kind);
    await test.db.host.create({
      data: { id: "attest-host", name: "attest-host", region: "eu-west-1", instanceId: INSTANCE_ID, roleArn: ROLE_ARN, agentUrl: agent.url, agentCertSha256: agent.certSha256, status: "up" },
    });
    for (const [id, name] of [
      [enclaveId, "acra"],
      [debugEnclaveId, "acra-debug"],
    ] as const) {
      await test.db.enclave.create({ data: { id, hostId: "attest-host", name, state: "RUNNING" } });
    }
    // A terminated enclave is not attested.
    await test.db.enclave.create({ data: { id: `${INSTANCE_ID}-encdead`, hostId: "attest-host", name: "gone", state: "TERMINATED" } });
  });
  afterAll(async () => {
    await test.drop();
  });

  it("judges a genuine document with no approved release as untrusted (pcr.mismatch) and stores it", async () => {
    const results = await attestFleet(test.db);
    expect(results.map((result) => result.enclaveId).sort()).toEqual([enclaveId, debugEnclaveId].sort());
    const policy = await ensurePolicy(test.db);
    const stored = await test.db.attestationResult.findFirstOrThrow({ where: { enclaveId } });
    expect(stored).toMatchObject({ state: "untrusted", trusted: false, validAtIssuance: true, fresh: true, matchesPolicy: false, debug: false, releaseId: null, rootKind: "lab", policyHash: policy.hash, error: null });
    expect(stored.pcr0).toBe(measurements.PCR0);
    expect(stored.nonce).toMatch(/^[0-9a-f]{64}$/);
    const reasons = JSON.parse(stored.reasons) as { code: string; message: string }[];
    expect(reasons).toEqual([{ code: "pcr.mismatch", message: expect.stringContaining("no approved release allowed by the production policy (version 1)") }]);
    const doc = await test.db.attestationDocument.findUniqueOrThrow({ where: { sha256: stored.docSha256! } });
    expect(doc.size).toBe(doc.bytes.length);
    expect(await enclaveRow()).toMatchObject({ attestationState: "untrusted", attestedPcr0: measurements.PCR0, releaseId: null });
    expect((await events()).map((event) => [event.kind, event.severity])).toEqual([["attestation.mismatch", "critical"]]);

    // The same failure next round is not alerted again.
    await attestFleet(test.db);
    expect(await events({ kind: "attestation.mismatch" })).toHaveLength(1);
    expect(await test.db.attestationResult.count({ where: { enclaveId } })).toBe(2);
  });

  it("flags the debug enclave critically and never trusts it under the production policy", async () => {
    const debugResult = await test.db.attestationResult.findFirstOrThrow({ where: { enclaveId: debugEnclaveId }, orderBy: { id: "desc" } });
    expect(debugResult).toMatchObject({ state: "untrusted", trusted: false, debug: true, validAtIssuance: true, pcr0: "0".repeat(96) });
    expect((JSON.parse(debugResult.reasons) as { code: string }[]).map((reason) => reason.code)).toContain("doc.debug_mode");
    const kinds = (await test.db.fleetEvent.findMany({ where: { enclaveId: debugEnclaveId } })).map((event) => `${event.kind}/${event.severity}`);
    expect(kinds).toContain("attestation.debug/critical");
  });

  let releaseId: string;
  it("trusts the enclave once its release is approved and allowed, with the policy hash and release on the result", async () => {
    const release = await importRelease(
      test.db,
      releaseImportSchema.parse({ name: "acra-server", version: "0.96.0-7", buildOutput: JSON.stringify({ Measurements: { HashAlgorithm: "Sha384 { ... }", ...measurements } }) }),
      ana,
    );
    releaseId = release.id;
    await approveRelease(test.db, release.id, bob);
    const policy = await savePolicy(test.db, "production", { allowedReleaseIds: [release.id], allowDebug: false, freshnessSeconds: 60 }, ana);

    const attempt = await attestEnclaveNow(test.db, enclaveId);
    expect(attempt).toMatchObject({ state: "trusted", trusted: true, error: null });
    const stored = await test.db.attestationResult.findUniqueOrThrow({ where: { id: attempt.resultId! } });
    expect(stored).toMatchObject({ trusted: true, state: "trusted", releaseId: release.id, policyHash: policy.hash, reasons: "[]", moduleId: expect.stringMatching(new RegExp(`^${INSTANCE_ID}-enc`)) });
    expect(await enclaveRow()).toMatchObject({ attestationState: "trusted", releaseId: release.id, attestedPcr0: measurements.PCR0 });
    expect((await enclaveRow()).attestationCheckedAt).toBeInstanceOf(Date);
    expect((await events()).at(-1)).toMatchObject({ kind: "attestation.recovered", severity: "info" });
  });

  it("stores a replayed document once and judges the replay untrusted (nonce.mismatch)", async () => {
    const last = await test.db.attestationResult.findFirstOrThrow({ where: { enclaveId, trusted: true }, orderBy: { id: "desc" } });
    const replayed = (await test.db.attestationDocument.findUniqueOrThrow({ where: { sha256: last.docSha256! } })).bytes;
    const documentsBefore = await test.db.attestationDocument.count();
    const attempt = await attestEnclaveNow(test.db, enclaveId, { fetchDocument: async () => replayed });
    expect(attempt.state).toBe("untrusted");
    const stored = await test.db.attestationResult.findUniqueOrThrow({ where: { id: attempt.resultId! } });
    expect(stored.docSha256).toBe(last.docSha256);
    expect((JSON.parse(stored.reasons) as { code: string }[]).map((reason) => reason.code)).toEqual(["nonce.mismatch"]);
    expect(await test.db.attestationDocument.count()).toBe(documentsBefore);
    // Back to a genuine answer.
    expect((await attestEnclaveNow(test.db, enclaveId)).state).toBe("trusted");
  });

  it("raises a critical event when PCR0 changes on the same enclave", async () => {
    const swapped = { pcr0: "5a".repeat(48), pcr1: measurements.PCR1.toLowerCase(), pcr2: measurements.PCR2.toLowerCase() };
    fs.writeFileSync(path.join(enclaveDir(enclaveId), "measurements.json"), JSON.stringify(swapped));
    try {
      const attempt = await attestEnclaveNow(test.db, enclaveId);
      expect(attempt.state).toBe("untrusted");
      expect(await enclaveRow()).toMatchObject({ attestationState: "untrusted", attestedPcr0: swapped.pcr0, releaseId: null });
      const changed = await events({ kind: "attestation.pcr0_changed" });
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatchObject({ severity: "critical" });
      expect(JSON.parse(changed[0]!.data)).toMatchObject({ from: measurements.PCR0, to: swapped.pcr0 });
    } finally {
      fs.rmSync(path.join(enclaveDir(enclaveId), "measurements.json"), { force: true });
    }
    expect((await attestEnclaveNow(test.db, enclaveId)).state).toBe("trusted");
    expect(await events({ kind: "attestation.pcr0_changed" })).toHaveLength(2);
  });

  it("agent errors keep a trusted enclave trusted only within the window, then stale; never trusted from errors", async () => {
    const trustedAt = Date.now();
    // A changed agent certificate (pin mismatch) is an agent error: no document, no new verdict.
    await test.db.host.update({ where: { id: "attest-host" }, data: { agentCertSha256: "0".repeat(64) } });
    try {
      const within = await attestEnclaveNow(test.db, enclaveId, { now: () => new Date(trustedAt + 10_000) });
      expect(within).toMatchObject({ state: "trusted", trusted: false, error: expect.stringContaining("agent:") });
      expect((await test.db.attestationResult.findUniqueOrThrow({ where: { id: within.resultId! } })).docSha256).toBeNull();

      // The host is known down: the fleet pass does not call it, and nothing is stored while nothing changes.
      await test.db.host.update({ where: { id: "attest-host" }, data: { status: "down" } });
      const before = await test.db.attestationResult.count();
      await attestFleet(test.db, { now: () => new Date(trustedAt + 20_000) });
      expect(await test.db.attestationResult.count()).toBe(before);
      expect((await enclaveRow()).attestationState).toBe("trusted");

      const late = await attestFleet(test.db, { now: () => new Date(trustedAt + 61_000 + 5_000) });
      expect(late.find((result) => result.enclaveId === enclaveId)).toMatchObject({ state: "stale", error: "host attest-host is down" });
      expect(await enclaveRow()).toMatchObject({ attestationState: "stale" });
      const stale = await events({ kind: "attestation.stale" });
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatchObject({ severity: "critical" });
      // The untrusted debug enclave stays untrusted (red is never downgraded to amber by silence).
      expect((await test.db.enclave.findUniqueOrThrow({ where: { id: debugEnclaveId } })).attestationState).toBe("untrusted");
    } finally {
      await test.db.host.update({ where: { id: "attest-host" }, data: { agentCertSha256: agent.certSha256, status: "up" } });
    }
    expect((await attestEnclaveNow(test.db, enclaveId)).state).toBe("trusted");
  });

  it("a never-attested enclave whose agent fails stays unknown, then goes stale after the window", async () => {
    const ghost = `${INSTANCE_ID}-encfeedfacefeedface`;
    await test.db.enclave.create({ data: { id: ghost, hostId: "attest-host", name: "ghost", state: "RUNNING" } });
    const first = await attestEnclaveNow(test.db, ghost);
    expect(first).toMatchObject({ state: "unknown", trusted: false });
    expect(first.error).toMatch(/^agent: /);
    const later = await attestEnclaveNow(test.db, ghost, { now: () => new Date(Date.now() + 120_000) });
    expect(later.state).toBe("stale");
    await test.db.enclave.update({ where: { id: ghost }, data: { state: "TERMINATED" } });
    await expect(attestEnclaveNow(test.db, ghost)).rejects.toThrow("The enclave is terminated; only a running enclave can be attested.");
  });

  it("revoking the release makes the next attestation untrusted without a policy change", async () => {
    const { revokeRelease } = await import("./registry-store");
    await revokeRelease(test.db, releaseId, "superseded by a fixed build", bob);
    const attempt = await attestEnclaveNow(test.db, enclaveId);
    expect(attempt.state).toBe("untrusted");
    expect(await events({ kind: "attestation.mismatch" })).toHaveLength(3);
  });
});

describe.each(TEST_DB_KINDS)("raw document retention on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await test.drop();
  });

  it("prunes old documents except pinned ones and the latest document of each enclave", async () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
    const doc = (sha: string, firstSeenAt: Date, pinned = false) =>
      test.db.attestationDocument.create({ data: { sha256: sha.repeat(64), bytes: Buffer.from(sha), size: 1, firstSeenAt, pinned } });
    await doc("a", daysAgo(40)); // old, referenced only by an older result of enclave e1: pruned
    await doc("b", daysAgo(40)); // old, latest document of e1: kept
    await doc("c", daysAgo(40), true); // old, pinned by an evidence export: kept
    await doc("d", daysAgo(5)); // recent: kept
    await doc("e", daysAgo(31)); // old, latest document of e2 even though e2's newest result is an error: kept
    await doc("f", daysAgo(31)); // old, unreferenced: pruned
    const result = (enclaveId: string, docSha256: string | null, at: Date) =>
      test.db.attestationResult.create({
        data: { at, enclaveId, hostId: "h", docSha256, nonce: "00", state: "trusted", trusted: true, validAtIssuance: true, fresh: true, matchesPolicy: true, reasons: "[]", policyHash: "p" },
      });
    await result("e1", "a".repeat(64), daysAgo(40));
    await result("e1", "b".repeat(64), daysAgo(39));
    await result("e2", "e".repeat(64), daysAgo(31));
    await result("e2", null, daysAgo(1));

    expect(await pruneAttestationDocuments(test.db, { retentionDays: 30, now })).toBe(2);
    const left = (await test.db.attestationDocument.findMany({ orderBy: { sha256: "asc" } })).map((row) => row.sha256[0]);
    expect(left).toEqual(["b", "c", "d", "e"]);
    // Results keep their history even when the bytes are gone.
    expect(await test.db.attestationResult.count()).toBe(4);
    await expect(pruneAttestationDocuments(test.db, { retentionDays: 0, now })).rejects.toThrow("retentionDays must be at least 1");
  });
});

/**
 * The agent's API over REAL mutual TLS, with the simulator backend running stand-in enclave processes
 * (testdata/stand-in-enclave.mjs obeys the lab contract), driven by the console's own client.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentCertificateMismatchError,
  AgentConflictError,
  AgentHttpError,
  AgentTlsError,
  createAgentClient,
  type AgentClient,
} from "@/lib/fleet/agent-client";
import type { AgentEvent, Operation, OperationRequest } from "@/lib/fleet/agent-protocol";
import { ENCLAVER_LOG_PREFIX } from "./backend-simulated";
import { ensureLabAgentCerts, type LabAgentCerts } from "./certs";
import { simulatorAgentTestConfig } from "./test-support";
import { writeLabEif } from "./lab-eif";
import { startAgent, type RunningAgent } from "./server";

const STAND_IN = path.join(__dirname, "testdata", "stand-in-enclave.mjs");

let tmp: string;
let certs: LabAgentCerts;
let agent: RunningAgent;
let client: AgentClient;
let eifPath: string;
let goodMeasurements: { PCR0: string; PCR1: string; PCR2: string };
const logLines: { enclaveId: string; line: string }[] = [];

const standInDocument = (nonceHex: string, enclaveId: string) =>
  Buffer.concat([Buffer.from([0xd2, 0x84, 0x0d, 0x0a, 0x00, 0xff]), Buffer.from(nonceHex, "hex"), Buffer.from(enclaveId)]);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runToEnd(req: OperationRequest): Promise<Operation> {
  const { operation } = await client.startOperation(req);
  return waitFor(`operation ${operation.id}`, async () => {
    const op = await client.getOperation(operation.id);
    return op.status === "succeeded" || op.status === "failed" ? op : undefined;
  }, 20_000);
}

function clientFor(overrides: Partial<Parameters<typeof createAgentClient>[0]> = {}): AgentClient {
  return createAgentClient({
    url: agent.url,
    certSha256: agent.certSha256,
    clientCertPem: certs.consoleClient.certPem,
    clientKeyPem: certs.consoleClient.keyPem,
    caPem: certs.agentCaPem,
    timeoutMs: 5000,
    ...overrides,
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agent-api-"));
  certs = await ensureLabAgentCerts(path.join(tmp, "certs"), "test-host");
  eifPath = path.join(tmp, "eifs", "acra-server-0.96.0-1.eif");
  const d = await writeLabEif(eifPath, { name: "acra-server", version: "0.96.0-1" });
  goodMeasurements = { PCR0: d.Measurements.PCR0, PCR1: d.Measurements.PCR1, PCR2: d.Measurements.PCR2 };
  const config = simulatorAgentTestConfig({
    tmp,
    hostId: "test-host",
    host: { instanceId: "i-0123456789abcdef0", region: "us-east-1", availabilityZone: "us-east-1a", roleArn: "arn:aws:iam::111122223333:role/acra-enclave-role" },
    enclaveCommand: { command: process.execPath, args: [STAND_IN] },
    waitHealthyTimeoutMs: 10_000,
  });
  agent = await startAgent(config, { onLogLine: (enclaveId, line) => logLines.push({ enclaveId, line }) });
  client = clientFor();
});

afterAll(async () => {
  await agent?.close({ terminateEnclaves: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

const startRequest = (key: string, extra: Record<string, unknown> = {}): OperationRequest => ({
  kind: "start",
  idempotencyKey: key,
  params: { eifUri: `file://${eifPath}`, cpuCount: 2, memoryMiB: 1024, expectedMeasurements: goodMeasurements, ...extra },
});

describe("agent API over mTLS (simulator backend)", () => {
  let enclaveId: string;

  it("reports host facts", async () => {
    const host = await client.getHost();
    expect(host).toMatchObject({
      instanceId: "i-0123456789abcdef0",
      region: "us-east-1",
      availabilityZone: "us-east-1a",
      roleArn: "arn:aws:iam::111122223333:role/acra-enclave-role",
      backend: "simulator",
      allocator: { cpus: 4, memoryMiB: 4096 },
    });
    expect(host.nitroCliVersion).toMatch(/^\d+\.\d+/);
  });

  it("starts an enclave through an idempotent operation with step-by-step progress", async () => {
    const first = await client.startOperation(startRequest("start-0001"));
    expect(first.created).toBe(true);
    // Same key, same body: the same operation, not a second enclave.
    const again = await client.startOperation(startRequest("start-0001"));
    expect(again.created).toBe(false);
    expect(again.operation.id).toBe(first.operation.id);
    // Same key, different body: refused.
    const conflict = await client.startOperation(startRequest("start-0001", { cpuCount: 1 })).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(AgentConflictError);
    expect((conflict as AgentConflictError).status).toBe(409);

    const seenStatuses = new Set<string>();
    const done = await waitFor("start to finish", async () => {
      const op = await client.getOperation(first.operation.id);
      for (const s of op.steps) seenStatuses.add(`${s.name}:${s.status}`);
      return op.status === "succeeded" || op.status === "failed" ? op : undefined;
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ["resolve-eif", "succeeded"],
      ["describe-eif", "succeeded"],
      ["check-measurements", "succeeded"],
      ["run-enclave", "succeeded"],
      ["wait-healthy", "succeeded"],
    ]);
    for (const s of done.steps) expect(Date.parse(s.endedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt!));
    enclaveId = String(done.result?.enclaveId);
    expect(enclaveId).toMatch(/^i-0123456789abcdef0-enc[0-9a-f]{16}$/);
  });

  it("lists the enclave in nitro-cli's shape with uptime and Acra health", async () => {
    const list = await waitFor("metrics", async () => {
      const l = await client.listEnclaves();
      return l.enclaves[0]?.health.metrics ? l : undefined;
    });
    const e = list.enclaves.find((x) => x.EnclaveID === enclaveId)!;
    expect(e).toMatchObject({
      EnclaveName: "acra-server-0.96.0-1",
      EnclaveCID: 16,
      NumberOfCPUs: 2,
      CPUIDs: [1, 2],
      MemoryMiB: 1024,
      State: "RUNNING",
      Flags: "NONE",
      Measurements: { HashAlgorithm: "Sha384 { ... }", ...goodMeasurements },
    });
    expect(e.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(e.health.status).toBe("healthy");
    expect(e.health.tcp).toBe("up");
    expect(e.health.metrics).toMatchObject({ connectionsTotal: 7, decryptionsSuccess: 40, decryptionsFail: 1, version: "0.96.0" });
    expect(e.health.lastLogAt).not.toBeNull();
  });

  it("relays the enclave's stdout with Enclaver's prefix", async () => {
    await waitFor("log lines", async () => logLines.some((l) => l.enclaveId === enclaveId && l.line.includes("tick")));
    const line = logLines.find((l) => l.enclaveId === enclaveId)!.line;
    expect(line.startsWith(ENCLAVER_LOG_PREFIX)).toBe(true);
    expect(JSON.parse(line.slice(ENCLAVER_LOG_PREFIX.length))).toMatchObject({ product: "acra-server" });
  });

  it("returns the attestation document bytes untouched", async () => {
    const nonce = crypto.randomBytes(48).toString("hex");
    const doc = await client.attest(enclaveId, nonce);
    expect(Buffer.from(doc).equals(standInDocument(nonce, enclaveId))).toBe(true);
  });

  it("rejects a short nonce and an unknown enclave with typed errors", async () => {
    const short = await client.attest(enclaveId, "ab".repeat(8)).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(AgentHttpError);
    expect((short as AgentHttpError).status).toBe(400);
    const missing = await client.attest("i-0123456789abcdef0-enc0000000000000000", "ab".repeat(32)).catch((e: unknown) => e);
    expect((missing as AgentHttpError).status).toBe(404);
  });

  it("delivers opaque key blobs, serves them to the supervisor, and rotates with a reload", async () => {
    const masterKey = crypto.randomBytes(180);
    const delivered = await runToEnd({
      kind: "deliver-keys",
      idempotencyKey: "keys-v1-0001",
      params: { version: 1, blobs: [{ name: "master-key", ciphertextBase64: masterKey.toString("base64") }] },
    });
    expect(delivered.status).toBe("succeeded");
    const served = (await (await fetch(`${agent.keyStoreUrl}/master-key`)).json()) as { ciphertextBase64: string; version: number };
    expect(served).toEqual({ ciphertextBase64: masterKey.toString("base64"), version: 1 });
    expect((await fetch(`${agent.keyStoreUrl}/keystore`)).status).toBe(404);

    const keystore = crypto.randomBytes(300);
    const rotated = await runToEnd({
      kind: "rotate-keys",
      enclaveId,
      idempotencyKey: "rotate-v2-0001",
      params: { version: 2, blobs: [{ name: "keystore", ciphertextBase64: keystore.toString("base64") }] },
    });
    expect(rotated.error).toBeNull();
    expect(rotated.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(rotated.steps[2]?.message).toContain("keystore v2");
    // Going back to an older version is refused by the host store.
    const stale = await runToEnd({
      kind: "deliver-keys",
      idempotencyKey: "keys-stale-0001",
      params: { version: 1, blobs: [{ name: "keystore", ciphertextBase64: keystore.toString("base64") }] },
    });
    expect(stale.status).toBe("failed");
    expect(stale.error?.code).toBe("stale-version");
  });

  it("refuses a redeploy whose image does not match the expected measurements, leaving the enclave running", async () => {
    const op = await runToEnd({
      kind: "redeploy",
      enclaveId,
      idempotencyKey: "redeploy-bad-0001",
      params: { eifUri: eifPath, expectedMeasurements: { ...goodMeasurements, PCR0: "00".repeat(48) } },
    });
    expect(op.status).toBe("failed");
    expect(op.error?.code).toBe("measurement-mismatch");
    expect(op.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "failed", "skipped", "skipped", "skipped"]);
    const list = await client.listEnclaves();
    expect(list.enclaves.find((e) => e.EnclaveID === enclaveId)?.State).toBe("RUNNING");
  });

  it("streams operation progress until the end", async () => {
    const { operation } = await client.startOperation(startRequest("start-debug-0001", { debugMode: true, cpuCount: 1, memoryMiB: 512, expectedMeasurements: undefined }));
    const snapshots: Operation[] = [];
    for await (const op of client.streamOperation(operation.id)) snapshots.push(op);
    const last = snapshots.at(-1)!;
    expect(last.status).toBe("succeeded");
    expect(snapshots.length).toBeGreaterThan(2);
    expect(last.steps.find((s) => s.name === "check-measurements")?.status).toBe("skipped");
    const list = await client.listEnclaves();
    const debug = list.enclaves.find((e) => e.EnclaveID === last.result?.enclaveId);
    expect(debug?.Flags).toBe("DEBUG_MODE");
    expect(debug?.EnclaveCID).toBe(17);
  });

  it("streams events: a killed enclave shows as exited (crash), a stopped one as expected", async () => {
    const events: AgentEvent[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const e of client.streamEvents({ since: 0, signal: ac.signal })) events.push(e);
    })();
    await waitFor("backlog", async () => events.some((e) => e.type === "enclave-started" && e.enclaveId === enclaveId));
    expect(events.some((e) => e.type === "health-changed" && e.enclaveId === enclaveId && e.to === "healthy")).toBe(true);
    const ids = events.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    const pid = (await client.listEnclaves()).enclaves.find((e) => e.EnclaveID === enclaveId)!.ProcessID;
    process.kill(pid, "SIGKILL");
    const exited = await waitFor("enclave-exited", async () =>
      events.find((e): e is Extract<AgentEvent, { type: "enclave-exited" }> => e.type === "enclave-exited" && e.enclaveId === enclaveId),
    );
    expect(exited).toMatchObject({ signal: "SIGKILL", exitCode: null, expected: false });
    const gone = (await client.listEnclaves()).enclaves.find((e) => e.EnclaveID === enclaveId);
    expect(gone?.State).toBe("TERMINATED");
    expect(gone?.exit).toMatchObject({ signal: "SIGKILL", expected: false });

    const debugId = (await client.listEnclaves()).enclaves.find((e) => e.State === "RUNNING")!.EnclaveID;
    const stop = await runToEnd({ kind: "stop", enclaveId: debugId, idempotencyKey: "stop-0001", params: {} });
    expect(stop.status).toBe("succeeded");
    const stopped = await waitFor("expected exit", async () =>
      events.find((e) => e.type === "enclave-exited" && e.enclaveId === debugId),
    );
    expect(stopped).toMatchObject({ expected: true, exitCode: 0 });
    ac.abort();
    await reader;

    // Resuming after the last seen id yields nothing old.
    const resumeFrom = stopped.id;
    const resumed: AgentEvent[] = [];
    const ac2 = new AbortController();
    const r2 = (async () => {
      for await (const e of client.streamEvents({ since: resumeFrom - 1, signal: ac2.signal })) resumed.push(e);
    })();
    await waitFor("resumed", async () => resumed.length > 0);
    ac2.abort();
    await r2;
    expect(resumed[0]?.id).toBe(resumeFrom);
  });
});

describe("mutual TLS and pinning", () => {
  it("refuses a client certificate from a different CA at the TLS layer", async () => {
    const rogue = await ensureLabAgentCerts(path.join(tmp, "rogue-certs"), "test-host");
    const c = clientFor({ clientCertPem: rogue.consoleClient.certPem, clientKeyPem: rogue.consoleClient.keyPem });
    const err = await c.getHost().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentTlsError);
    // And directly, without our client's error mapping: the handshake is aborted with a TLS alert.
    const raw = await rawRequest({ cert: rogue.consoleClient.certPem, key: rogue.consoleClient.keyPem });
    expect(raw).toMatch(/alert|ECONNRESET|socket hang up/i);
  });

  it("refuses a client with no certificate", async () => {
    const noCert = createAgentClient({ url: agent.url, certSha256: agent.certSha256, clientCertPem: "", clientKeyPem: "", caPem: certs.agentCaPem });
    expect(await noCert.getHost().catch((e: unknown) => e)).toBeInstanceOf(AgentTlsError);
    const raw = await rawRequest({});
    expect(raw).toMatch(/alert|ECONNRESET|socket hang up/i);
  });

  it("a client with the right certificate gets through the same raw path (control)", async () => {
    const raw = await rawRequest({ cert: certs.consoleClient.certPem, key: certs.consoleClient.keyPem });
    expect(raw).toBe("200");
  });

  it("the console refuses an agent whose certificate changed, even though the same CA signed it", async () => {
    const other = await ensureLabAgentCerts(path.join(tmp, "certs"), "another-host");
    expect(other.agentCaPem).toBe(certs.agentCaPem);
    for (const caPem of [certs.agentCaPem, undefined]) {
      const c = clientFor({ certSha256: other.agentCertSha256, caPem });
      const err = await c.getHost().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentCertificateMismatchError);
      expect((err as AgentCertificateMismatchError).actualSha256).toBe(agent.certSha256);
    }
  });
});

/** An HTTPS GET that reports the status code, or the error text when the TLS layer refuses. */
function rawRequest(auth: { cert?: string; key?: string }): Promise<string> {
  const u = new URL(agent.url);
  return new Promise((resolve) => {
    const req = https.request(
      { hostname: u.hostname, port: u.port, path: "/v1/host", ca: certs.agentCaPem, agent: false, ...auth },
      (res) => {
        res.resume();
        resolve(String(res.statusCode));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ""} ${e.message}`));
    req.end();
  });
}

/**
 * Simulated hosts as real agent processes: a stopped agent is unreachable, its enclave keeps running, and the
 * restarted agent (same URL, same pinned certificate) adopts the enclave again.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentUnreachableError } from "@/lib/fleet/agent-client";
import { hostPlan, instanceIdFor, startSimulatedHosts, type SimulatedHosts } from "./simulated-hosts";

const STAND_IN = path.join(__dirname, "..", "..", "agent", "testdata", "stand-in-enclave.mjs");

let tmp: string;
let lab: SimulatedHosts;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sim-hosts-"));
  lab = await startSimulatedHosts({
    dataDir: tmp,
    count: 2,
    regions: ["us-east-1", "eu-west-1"],
    aws: { endpoint: "http://127.0.0.1:1" },
    kmsKeyId: "alias/acra_master_key",
    enclaveCommand: { command: process.execPath, args: [STAND_IN] },
    pollIntervalMs: 300,
    logSink: { kind: "file", path: path.join(tmp, "relayed.log") },
  });
}, 60_000);

afterAll(async () => {
  await lab?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("host naming", () => {
  it("derives ids per region and instance ids deterministically", () => {
    expect(hostPlan(3, ["us-east-1", "us-east-1", "eu-west-1"]).map((h) => [h.id, h.availabilityZone])).toEqual([
      ["lab-use1-a", "us-east-1a"],
      ["lab-use1-b", "us-east-1b"],
      ["lab-euw1-a", "eu-west-1a"],
    ]);
    expect(instanceIdFor("lab-use1-a")).toMatch(/^i-0[0-9a-f]{16}$/);
    expect(instanceIdFor("lab-use1-a")).toBe(instanceIdFor("lab-use1-a"));
    expect(instanceIdFor("lab-use1-a")).not.toBe(instanceIdFor("lab-use1-b"));
  });
});

describe("startSimulatedHosts", () => {
  it("runs one agent process per host, each answering with its own facts over pinned mTLS", async () => {
    expect(lab.hosts.map((h) => h.id)).toEqual(["lab-use1-a", "lab-euw1-a"]);
    expect(new Set(lab.hosts.map((h) => h.certSha256)).size).toBe(2);
    for (const h of lab.hosts) {
      const facts = await lab.client(h.id).getHost();
      expect(facts).toMatchObject({
        instanceId: h.instanceId,
        region: h.region,
        roleArn: "arn:aws:iam::111122223333:role/acra-enclave-role",
        backend: "simulator",
      });
    }
  });

  it("a stopped agent is unreachable while its enclave keeps running; restarted, it adopts the enclave", async () => {
    const id = "lab-euw1-a";
    const client = lab.client(id);
    const { operation } = await client.startOperation({
      kind: "start",
      idempotencyKey: "lab-start-euw1-a-1",
      params: { eifUri: lab.eif.path, cpuCount: 2, memoryMiB: 1024, expectedMeasurements: lab.eif.description.Measurements },
    });
    let op = operation;
    for (const deadline = Date.now() + 15_000; op.status !== "succeeded" && op.status !== "failed" && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 200));
      op = await client.getOperation(operation.id);
    }
    expect(op.error).toBeNull();
    const enclaveId = String(op.result?.enclaveId);
    const pid = (await client.listEnclaves()).enclaves[0]!.ProcessID;

    await lab.stopAgent(id);
    expect(lab.isRunning(id)).toBe(false);
    await expect(client.getHost()).rejects.toBeInstanceOf(AgentUnreachableError);
    // The other host is unaffected.
    expect((await lab.client("lab-use1-a").getHost()).region).toBe("us-east-1");
    // The enclave outlived its agent, like a real one.
    expect(() => process.kill(pid, 0)).not.toThrow();

    await lab.startAgent(id);
    const list = await client.listEnclaves();
    expect(list.enclaves.map((e) => [e.EnclaveID, e.State])).toEqual([[enclaveId, "RUNNING"]]);
    // The relayed log lines reached the configured sink, with Enclaver's prefix.
    expect(fs.readFileSync(path.join(tmp, "relayed.log"), "utf8")).toContain(`${enclaveId}\t INFO  enclave         > {`);
  });
});

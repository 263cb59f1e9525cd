/**
 * Each lab provocation, checked by its effect where the console will look for it: the emulated CloudTrail and
 * CloudWatch Logs (through the real AWS SDK), and the host agents (through the console's pinned mTLS client).
 */
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAcraLogLine } from "../../lib/acra/log-parser";
import { AgentUnreachableError } from "../../lib/fleet/agent-client";
import { labAwsClientConfig } from "./aws";
import { LAB_LOG_GROUP, startLabFleet, type LabFleet } from "./lab-fleet";

let dir: string;
let fleet: LabFleet;
const REGION = "us-east-1";

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-fleet-"));
  fleet = await startLabFleet({ dataDir: dir, hostCount: 2 });
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for the effect");
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Lines of the Acra log group matching a term pattern (the Enclaver prefix makes JSON patterns useless, as in AWS). */
async function logMessages(pattern: string): Promise<string[]> {
  const logs = new CloudWatchLogsClient({ ...labAwsClientConfig(fleet.emulator.endpoint, REGION, "console"), maxAttempts: 3 });
  try {
    const out = await logs.send(new FilterLogEventsCommand({ logGroupName: LAB_LOG_GROUP, filterPattern: pattern }));
    return (out.events ?? []).map((event) => event.message ?? "");
  } finally {
    logs.destroy();
  }
}

async function linesWithCode(code: number): Promise<string[]> {
  return (await logMessages(`"${code}"`)).filter((line) => parseAcraLogLine(line).code === code);
}

interface TrailEvent {
  eventSource: string;
  errorCode?: string;
  userIdentity: { arn: string };
  additionalEventData?: { recipient?: { attestationDocumentEnclaveImageDigest?: string } };
}

async function cloudTrail(eventName: string): Promise<TrailEvent[]> {
  const trail = new CloudTrailClient({ ...labAwsClientConfig(fleet.emulator.endpoint, REGION, "console"), maxAttempts: 5 });
  try {
    const out = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }], MaxResults: 50 }));
    return (out.Events ?? []).map((event) => JSON.parse(event.CloudTrailEvent ?? "{}") as TrailEvent);
  } finally {
    trail.destroy();
  }
}

describe("the lab fleet", () => {
  it("boots every enclave with its master key decrypted through attested KMS calls", async () => {
    const [first, second] = fleet.hosts.hosts;
    for (const host of [first!, second!]) {
      const enclaves = await poll(async () => {
        const list = (await fleet.hosts.client(host.id).listEnclaves()).enclaves;
        return list.length > 0 && list.every((enclave) => enclave.health.status === "healthy") ? list : undefined;
      });
      expect(enclaves[0]!.health.supervisor).toMatchObject({ acraState: "up", keystoreVersion: 1 });
    }
    const decrypts = await cloudTrail("Decrypt");
    const attested = decrypts.filter((event) => event.additionalEventData?.recipient && !event.errorCode);
    expect(attested.length).toBeGreaterThanOrEqual(2);
    expect(attested[0]!.userIdentity.arn).toContain("assumed-role/acra-enclave-role");
  });

  it("inject-poison puts a code 587 line (and Acra's uncoded duplicate) into CloudWatch Logs", async () => {
    const host = fleet.hosts.hosts[0]!.id;
    expect(await fleet.injectPoison(host)).toContain("poison record hit");
    const coded = await poll(async () => {
      const lines = await linesWithCode(587);
      return lines.length > 0 ? lines : undefined;
    });
    expect(coded[0]).toMatch(/^ INFO {2}enclave {9}> /);
    expect(coded[0]).toContain("Recognized poison record");
    const all = await logMessages('"Recognized poison record"');
    expect(all.length).toBe(2 * coded.length);
  });

  it("inject-decrypt-failure, inject-censor-block and inject-db-lost each leave their Acra line", async () => {
    const host = fleet.hosts.hosts[1]!.id;
    await fleet.injectAcra(host, "decrypt-failure");
    await fleet.injectAcra(host, "censor-block");
    await fleet.injectAcra(host, "db-lost");
    for (const code of [581, 560, 540]) {
      const lines = await poll(async () => {
        const found = await linesWithCode(code);
        return found.length > 0 ? found : undefined;
      });
      expect(lines.length).toBeGreaterThan(0);
    }
  });

  it("inject-unattested-decrypt shows as a Decrypt without a recipient, by the rogue principal", async () => {
    const host = fleet.hosts.hosts[0]!.id;
    expect(await fleet.injectUnattestedDecrypt(host)).toContain("rogue principal");
    const events = await poll(async () => {
      const found = (await cloudTrail("Decrypt")).filter((event) => String(event.userIdentity?.arn).includes("dev-rogue"));
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]!.additionalEventData?.recipient).toBeUndefined();
    expect(events[0]!.eventSource).toBe("kms.amazonaws.com");
  });

  it("crash-enclave makes the agent report an unexpected exit", async () => {
    const host = fleet.hosts.hosts[1]!.id;
    expect(await fleet.crashEnclave(host)).toContain("killed");
    const exited = await poll(async () => {
      const list = (await fleet.hosts.client(host).listEnclaves()).enclaves;
      return list.find((enclave) => enclave.State === "TERMINATED");
    });
    expect(exited.exit).toMatchObject({ expected: false });
  });

  it("stop-agent makes the agent unreachable; start-agent brings it back with the same pinned certificate", async () => {
    const host = fleet.hosts.hosts[1]!.id;
    await fleet.hosts.stopAgent(host);
    await expect(fleet.hosts.client(host).getHost()).rejects.toBeInstanceOf(AgentUnreachableError);
    await fleet.hosts.startAgent(host);
    expect((await fleet.hosts.client(host).getHost()).instanceId).toBe(fleet.hosts.hosts[1]!.instanceId);
  });

  it("deploy-rogue-image runs an unapproved image whose KMS Decrypt the key policy refuses", async () => {
    const host = fleet.hosts.hosts[0]!;
    const before = (await fleet.hosts.client(host.id).listEnclaves()).enclaves.find((enclave) => enclave.State === "RUNNING")!;
    expect(await fleet.deployRogueImage(host.id)).toMatch(/unapproved image .*: operation (running|failed|succeeded)/);
    const rogue = await poll(async () => {
      const list = (await fleet.hosts.client(host.id).listEnclaves()).enclaves;
      return list.find((enclave) => enclave.State === "RUNNING" && enclave.Measurements?.PCR0 !== before.Measurements?.PCR0);
    });
    const denied = await poll(async () => {
      const found = (await cloudTrail("Decrypt")).filter(
        (event) => event.errorCode === "AccessDeniedException" && event.additionalEventData?.recipient?.attestationDocumentEnclaveImageDigest?.toLowerCase() === rogue.Measurements!.PCR0.toLowerCase(),
      );
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(denied.length).toBeGreaterThan(0);
  }, 60_000);
});

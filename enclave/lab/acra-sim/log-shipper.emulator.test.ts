import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dedupePoison, parseAcraLogLine } from "@/lib/acra/log-parser";
import { createAwsEmulator, LAB_CREDENTIALS, type AwsEmulator } from "../aws";
import { poisonRecognizedEvents, sessionStartedEvents } from "./acra-events";
import { formatAcraLogLine, withEnclaverPrefix } from "./log-format";
import { createLogShipper } from "./log-shipper";

// The shipper against the lab's AWS emulator (real SigV4, real PutLogEvents), read back with the real SDK as the
// console would: lines arrive complete, in order, and the Enclaver-prefixed Acra lines parse back.
describe("log shipper -> lab AWS emulator", () => {
  let emulator: AwsEmulator;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "acra-sim-logs-"));
    emulator = await createAwsEmulator({
      dataDir,
      accountId: "111122223333",
      regions: ["eu-west-1"],
      // Only CloudWatch Logs is used here: no attestation document is ever presented.
      attestationVerifier: () => ({ ok: false, reason: "not used by this test" }),
    });
  });
  afterAll(async () => {
    await emulator.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("ships 12,000 lines in order with the enclave's credentials; the console reads them back complete", async () => {
    const enclave = LAB_CREDENTIALS.enclave;
    const shipper = createLogShipper({
      endpoint: emulator.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: enclave.accessKeyId, secretAccessKey: enclave.secretAccessKey },
      logGroupName: "/lab/acra-server",
      logStreamName: "i-0lab0000000000001/enclave-1",
      flushIntervalMs: 20,
    });
    const t0 = Date.now() - 60_000;
    const session = { clientId: "app1", sessionId: 9 };
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i += 1) {
      const events = i === 6000 ? poisonRecognizedEvents(t0 + i, session, { shutdown: false }) : sessionStartedEvents(t0 + i, { ...session, sessionId: i });
      for (const e of events) lines.push(withEnclaverPrefix(formatAcraLogLine(e, "json")));
    }
    lines.forEach((line, i) => shipper.push(line, t0 + i));
    await shipper.close();
    expect(shipper.stats()).toMatchObject({ sent: lines.length, dropped: 0, rejected: 0 });

    const admin = LAB_CREDENTIALS.admin;
    const reader = new CloudWatchLogsClient({
      endpoint: emulator.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    const messages: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const out = await reader.send(
        new GetLogEventsCommand({
          logGroupName: "/lab/acra-server",
          logStreamName: "i-0lab0000000000001/enclave-1",
          startFromHead: true,
          ...(token ? { nextToken: token } : {}),
        }),
      );
      messages.push(...(out.events ?? []).map((e) => e.message ?? ""));
      if (!out.nextForwardToken || out.nextForwardToken === token) break;
      token = out.nextForwardToken;
    }
    reader.destroy();
    expect(messages).toEqual(lines);
    const entries = messages.map((m) => parseAcraLogLine(m));
    expect(entries.every((e) => e.format === "json" && e.prefix === "enclaver")).toBe(true);
    expect(dedupePoison(entries)).toHaveLength(1);
  });
});

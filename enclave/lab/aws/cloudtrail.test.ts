import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudTrailClient, LookupEventsCommand, type Event as TrailEvent, type LookupEventsCommandInput } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, GenerateRandomCommand, KMSClient, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { labAwsClientConfig, LAB_CREDENTIALS, type LabPrincipalName } from "./principals";
import { ACCOUNT, REGION, createLabCa, pcrHex, signAttestationDocument, startEmulator, type LabCa } from "./test-support";
import type { AwsEmulator } from "./emulator";

const VECTORS = path.join(__dirname, "..", "..", "..", "test", "vectors", "cloudtrail");
const vector = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8")) as Record<string, unknown>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const typeOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Every key of `reference` exists in `actual` with the same JSON type, recursively (arrays: first elements). */
function expectSameShape(actual: Json, reference: Json, at = "$"): void {
  expect(typeOf(actual), `type at ${at}`).toBe(typeOf(reference));
  if (Array.isArray(reference) && Array.isArray(actual) && reference.length > 0) {
    expect(actual.length, `array at ${at} is empty`).toBeGreaterThan(0);
    expectSameShape(actual[0] as Json, reference[0] as Json, `${at}[0]`);
  } else if (reference !== null && typeof reference === "object" && !Array.isArray(reference)) {
    for (const key of Object.keys(reference)) {
      expect(Object.keys(actual as object), `missing key ${at}.${key}`).toContain(key);
      expectSameShape((actual as Record<string, Json>)[key] as Json, reference[key] as Json, `${at}.${key}`);
    }
  }
}

/** Key paths of a JSON value (array elements share a path). */
function keyPaths(value: unknown, at = "$", out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keyPaths(item, `${at}[]`, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.add(`${at}.${k}`);
      keyPaths(v, `${at}.${k}`, out);
    }
  }
  return out;
}

let emulator: AwsEmulator;
let ca: LabCa;

beforeAll(async () => {
  ca = await createLabCa();
  ({ emulator } = await startEmulator({ ca, throttle: { cloudTrailPerSecond: 10_000 } }));
});
afterAll(async () => {
  await emulator.close();
});

const trail = (who: LabPrincipalName = "console", extra: Partial<{ maxAttempts: number }> = {}) =>
  new CloudTrailClient({ ...labAwsClientConfig(emulator.endpoint, REGION, who), maxAttempts: 1, ...extra });
const kms = (who: LabPrincipalName) => new KMSClient({ ...labAwsClientConfig(emulator.endpoint, REGION, who), maxAttempts: 1 });

async function lookupAll(input: LookupEventsCommandInput): Promise<{ events: TrailEvent[]; pages: number }> {
  const client = trail();
  const events: TrailEvent[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(new LookupEventsCommand({ ...input, NextToken: token }));
    pages++;
    expect(page.Events?.length ?? 0).toBeLessThanOrEqual(input.MaxResults ?? 50);
    events.push(...(page.Events ?? []));
    token = page.NextToken;
  } while (token);
  return { events, pages };
}

describe("KMS calls as CloudTrail events", () => {
  it("records Decrypt/GenerateDataKey/GenerateRandom with a Recipient, and on-demand rotation, in AWS's JSON shape", async () => {
    const pcrs = { 0: pcrHex("img"), 1: pcrHex("k"), 2: pcrHex("app"), 3: pcrHex("role"), 4: pcrHex("inst"), 8: pcrHex("sig") };
    const admin = kms("admin");
    const key = await admin.send(new CreateKeyCommand({ Description: "shape" }));
    const keyId = key.KeyMetadata?.KeyId ?? "";
    const blob = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("k") }));
    const recipient = { KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256" as const, AttestationDocument: signAttestationDocument(ca, pcrs).document };
    await admin.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, Recipient: recipient }));
    await admin.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, Recipient: recipient }));
    await admin.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient: recipient }));
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));

    const { events } = await lookupAll({ LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }] });
    const byName = (name: string) => {
      const found = events.find((e) => e.EventName === name);
      expect(found, name).toBeDefined();
      return JSON.parse(found?.CloudTrailEvent ?? "{}") as Json & Record<string, Json>;
    };
    const pairs: [string, string][] = [
      ["Decrypt", "cloudtrail-kms-decrypt-enclave-awsdocs-current-placeholders.json"],
      ["Decrypt", "cloudtrail-kms-decrypt-enclave-awsdocs.json"],
      ["GenerateDataKey", "cloudtrail-kms-generatedatakey-enclave-awsdocs.json"],
      ["GenerateRandom", "cloudtrail-kms-generaterandom-enclave-awsdocs.json"],
      ["RotateKeyOnDemand", "cloudtrail-kms-rotatekeyondemand-awsdocs.json"],
      ["RotateKey", "cloudtrail-kms-rotatekey-automatic-awsdocs-2021.json"],
    ];
    const allowed = new Set<string>();
    for (const file of fs.readdirSync(VECTORS).filter((f) => !f.includes("lookupevents"))) for (const p of keyPaths(vector(file))) allowed.add(p);
    // Keys AWS documents outside these examples: failure fields, and the 2025 rotation-event details.
    for (const extra of ["$.errorCode", "$.errorMessage", "$.serviceEventDetails.keyOrigin", "$.serviceEventDetails.previousKeyMaterialId", "$.serviceEventDetails.currentKeyMaterialId"]) {
      allowed.add(extra);
    }
    for (const [name, file] of pairs) {
      const event = byName(name);
      expectSameShape(event, vector(file) as Json);
      for (const p of keyPaths(event)) expect(allowed, `${name}: key ${p} appears in no AWS example`).toContain(p);
    }

    const decrypt = byName("Decrypt") as { additionalEventData: { recipient: Record<string, string> }; resources: { ARN: string }[] };
    expect(decrypt.additionalEventData.recipient.attestationDocumentEnclaveImageDigest).toBe(pcrs[0]);
    expect(decrypt.additionalEventData.recipient.attestationDocumentEnclavePCR8).toBe(pcrs[8]);
    expect(decrypt.resources[0]?.ARN).toBe(key.KeyMetadata?.Arn);
    const rotate = byName("RotateKey") as { eventType: string; serviceEventDetails: { rotationType: string; keyId: string } };
    expect(rotate).toMatchObject({ eventType: "AwsServiceEvent", serviceEventDetails: { rotationType: "ON_DEMAND", keyId } });
    const lookup = events.find((e) => e.EventName === "Decrypt");
    expect(lookup).toMatchObject({ ReadOnly: "true", Username: "lab-admin", AccessKeyId: LAB_CREDENTIALS.admin.accessKeyId, EventSource: "kms.amazonaws.com" });
    expect(lookup?.Resources).toEqual([{ ResourceType: "AWS::KMS::Key", ResourceName: key.KeyMetadata?.Arn }]);
    expect(lookup?.EventTime).toBeInstanceOf(Date);
  });

  it("records refused calls with errorCode/errorMessage and the assumed-role identity of the enclave", async () => {
    const admin = kms("admin");
    const key = await admin.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/lab-admin` }, Action: "kms:*", Resource: "*" }],
        }),
      }),
    );
    const blob = await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from("x") }));
    await expect(kms("enclave").send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob }))).rejects.toMatchObject({ name: "AccessDeniedException" });
    const { events } = await lookupAll({ LookupAttributes: [{ AttributeKey: "Username", AttributeValue: "i-0lab0000000000001" }] });
    expect(events).toHaveLength(1);
    const event = JSON.parse(events[0]?.CloudTrailEvent ?? "{}") as Record<string, unknown>;
    expect(event).toMatchObject({
      eventName: "Decrypt",
      errorCode: "AccessDeniedException",
      errorMessage: expect.stringContaining("is not authorized to perform: kms:Decrypt"),
      responseElements: null,
      userIdentity: {
        type: "AssumedRole",
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/acra-enclave-role/i-0lab0000000000001`,
        sessionContext: { sessionIssuer: { type: "Role", arn: `arn:aws:iam::${ACCOUNT}:role/acra-enclave-role` } },
      },
      resources: [{ ARN: key.KeyMetadata?.Arn, type: "AWS::KMS::Key", accountId: ACCOUNT }],
    });
  });

  it("serves lab-injected events (a rogue Decrypt) like any other", async () => {
    const { eventId } = emulator.state.appendCloudTrailEvent({
      eventVersion: "1.08",
      userIdentity: { type: "IAMUser", principalId: "AIDAROGUE", arn: `arn:aws:iam::${ACCOUNT}:user/mallory`, accountId: ACCOUNT, accessKeyId: "AKIAMALLORY", userName: "mallory" },
      eventSource: "kms.amazonaws.com",
      eventName: "Decrypt",
      awsRegion: REGION,
      readOnly: true,
      resources: [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: `arn:aws:kms:${REGION}:${ACCOUNT}:key/injected` }],
      eventType: "AwsApiCall",
    });
    const page = await trail().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: `arn:aws:kms:${REGION}:${ACCOUNT}:key/injected` }] }));
    expect(page.Events?.map((e) => [e.EventId, e.Username, e.AccessKeyId])).toEqual([[eventId, "mallory", "AKIAMALLORY"]]);
  });
});

describe("LookupEvents", () => {
  it("pages through 3,000 events newest first, MaxResults honoured, no duplicates or gaps", async () => {
    const base = Date.UTC(2026, 0, 1) > Date.now() - 80 * 86_400_000 ? Date.UTC(2026, 0, 1) : Date.now() - 80 * 86_400_000;
    for (let i = 0; i < 3000; i++) {
      emulator.state.appendCloudTrailEvent({
        eventSource: "kms.amazonaws.com",
        eventName: "PagingProbe",
        awsRegion: REGION,
        // Several events share each second, so the order inside one second must hold across page boundaries.
        eventTime: new Date(base + Math.floor(i / 7) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        eventID: `probe-${String(i).padStart(5, "0")}`,
        readOnly: true,
        resources: [],
      });
    }
    const { events, pages } = await lookupAll({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "PagingProbe" }], MaxResults: 50 });
    expect(pages).toBe(60);
    expect(events).toHaveLength(3000);
    expect(new Set(events.map((e) => e.EventId)).size).toBe(3000);
    const times = events.map((e) => e.EventTime?.getTime() ?? 0);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(events[0]?.EventId).toBe("probe-02999");
    expect(events[2999]?.EventId).toBe("probe-00000");

    const window = await lookupAll({
      LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "PagingProbe" }],
      StartTime: new Date(base + 100_000),
      EndTime: new Date(base + 199_000),
      MaxResults: 13,
    });
    expect(window.events).toHaveLength(100 * 7);
  });

  it("refuses a NextToken from a different query, and invalid parameters, with AWS's exceptions", async () => {
    const client = trail();
    const first = await client.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "PagingProbe" }], MaxResults: 5 }));
    expect(first.NextToken).toBeDefined();
    await expect(
      client.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Decrypt" }], NextToken: first.NextToken })),
    ).rejects.toMatchObject({ name: "InvalidNextTokenException" });
    await expect(client.send(new LookupEventsCommand({ NextToken: "garbage" }))).rejects.toMatchObject({ name: "InvalidNextTokenException" });
    await expect(
      client.send(
        new LookupEventsCommand({
          LookupAttributes: [
            { AttributeKey: "EventName", AttributeValue: "Decrypt" },
            { AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidLookupAttributesException" });
    await expect(client.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: "InvalidMaxResultsException" });
    await expect(client.send(new LookupEventsCommand({ StartTime: new Date(2000), EndTime: new Date(1000) }))).rejects.toMatchObject({ name: "InvalidTimeRangeException" });
    await expect(trail("enclave").send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: "AccessDeniedException" });
  });

  it("answers a request signed by @smithy/signature-v4 with the wire shape of the LookupEvents response", async () => {
    const signer = new SignatureV4({
      credentials: { accessKeyId: LAB_CREDENTIALS.console.accessKeyId, secretAccessKey: LAB_CREDENTIALS.console.secretAccessKey },
      region: REGION,
      service: "cloudtrail",
      sha256: Hash.bind(null, "sha256"),
    });
    const url = new URL(emulator.endpoint);
    const body = JSON.stringify({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Decrypt" }], MaxResults: 1 });
    const signed = await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: {
        host: url.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
      },
      body,
    });
    const response = await fetch(`${emulator.endpoint}/`, { method: "POST", headers: signed.headers as Record<string, string>, body });
    expect(response.status).toBe(200);
    const wire = (await response.json()) as Json;
    const reference = vector("cloudtrail-lookupevents-response-SYNTHETIC.json") as Record<string, Json>;
    delete reference._comment;
    expectSameShape(wire, reference);
  });
});

describe("throttling", () => {
  it("refuses LookupEvents beyond 2 calls per second per region; the SDK retries and succeeds", async () => {
    const { emulator: strict } = await startEmulator({ ca });
    try {
      const client = new CloudTrailClient({ ...labAwsClientConfig(strict.endpoint, REGION, "console"), maxAttempts: 10 });
      const results = await Promise.all(Array.from({ length: 6 }, () => client.send(new LookupEventsCommand({ MaxResults: 1 }))));
      expect(results).toHaveLength(6);
      expect(strict.state.counters.throttled).toBeGreaterThan(0);
      expect(results.reduce((sum, r) => sum + (r.$metadata.attempts ?? 1), 0)).toBeGreaterThan(6);
      // Throttling is per region: another region still has its own two calls.
      const other = new CloudTrailClient({ ...labAwsClientConfig(strict.endpoint, "us-east-1", "console"), maxAttempts: 1 });
      await other.send(new LookupEventsCommand({}));
      await other.send(new LookupEventsCommand({}));
      await expect(other.send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: "ThrottlingException" });
    } finally {
      await strict.close();
    }
  });
});

/**
 * The whole fleet side wired together: a simulated host (real agent process) running the nitro helper's real
 * simulated enclave (supervisor + fake Odyn + acra-server simulator) against the AWS emulator. The console's client
 * delivers KMS-encrypted key blobs, starts the enclave, waits for Acra to be healthy, and gets an attestation
 * document that the console's verifier accepts under the lab root with the nonce, PCR0, PCR3 and PCR4 checked;
 * acra-server's relayed lines land in the emulated CloudWatch Logs, one stream per enclave.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAttestationDocument } from "@/lib/attestation";
import { trustedRootFromPem } from "@/lib/attestation/roots";
import type { Operation } from "@/lib/fleet/agent-protocol";
import { createAwsEmulator, labAwsClientConfig, type AwsEmulator } from "../aws";
import { testAttestationVerifier } from "../aws/test-support";
import { ensureLabCa } from "../nitro/lab-ca";
import { provisionKeyMaterial } from "../../supervisor/key-material";
import { labEifDescription } from "@/enclave/agent/lab-eif";
import { LAB_ROLE_ARN, startSimulatedHosts, type SimulatedHosts } from "./simulated-hosts";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const EIF = { name: "acra-server", version: "0.96.0-it.1" };

let tmp: string;
let emulator: AwsEmulator;
let lab: SimulatedHosts;
let labRootPem: string;
let keyId: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-it-"));
  const ca = await ensureLabCa(path.join(tmp, "lab-ca"));
  labRootPem = ca.rootPem;
  emulator = await createAwsEmulator({
    dataDir: path.join(tmp, "aws"),
    accountId: ACCOUNT,
    regions: [REGION],
    attestationVerifier: testAttestationVerifier(ca.rootDer),
  });
  const pcr0 = labEifDescription(EIF).Measurements.PCR0;
  const admin = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "admin"), maxAttempts: 1 });
  keyId = (
    await admin.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:Create*", "kms:Describe*", "kms:Encrypt"], Resource: "*" },
            {
              Sid: "Attested enclave",
              Effect: "Allow",
              Principal: { AWS: LAB_ROLE_ARN },
              Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom"],
              Resource: "*",
              Condition: { StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": pcr0 } },
            },
          ],
        }),
      }),
    )
  ).KeyMetadata!.KeyId!;
  const blobs = await provisionKeyMaterial({ kms: admin, keyId, keystoreVersion: 1 });
  admin.destroy();
  lab = await startSimulatedHosts({
    dataDir: tmp,
    count: 1,
    regions: [REGION],
    aws: { endpoint: emulator.endpoint },
    kmsKeyId: keyId,
    labCaDir: path.join(tmp, "lab-ca"),
    eif: EIF,
    pollIntervalMs: 300,
    cloudWatchLogGroup: "/lab/acra-server",
  });
  const client = lab.client(lab.hosts[0]!.id);
  const delivered = await client.startOperation({
    kind: "deliver-keys",
    idempotencyKey: "it-keys-v1",
    params: {
      version: 1,
      blobs: [
        { name: "master-key", ciphertextBase64: blobs.masterKey.ciphertextBase64 },
        { name: "keystore", ciphertextBase64: blobs.keystore.ciphertextBase64 },
      ],
    },
  });
  await finish(delivered.operation);
}, 60_000);

afterAll(async () => {
  await lab?.close();
  await emulator?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function finish(op: Operation): Promise<Operation> {
  const client = lab.client(lab.hosts[0]!.id);
  let last = op;
  for await (const snapshot of client.streamOperation(op.id)) last = snapshot;
  return last;
}

describe("lab host with the real simulated enclave", () => {
  it("starts an attested enclave that decrypts its master key through KMS and serves a verifiable document", async () => {
    const host = lab.hosts[0]!;
    const client = lab.client(host.id);
    const { operation } = await client.startOperation({
      kind: "start",
      idempotencyKey: "it-start-1",
      params: { eifUri: lab.eif.path, cpuCount: 2, memoryMiB: 2048, expectedMeasurements: lab.eif.description.Measurements },
    });
    const done = await finish(operation);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const enclaveId = String(done.result?.enclaveId);

    const enclave = (await client.listEnclaves()).enclaves.find((e) => e.EnclaveID === enclaveId)!;
    expect(enclave.health.status).toBe("healthy");
    expect(enclave.health.supervisor).toMatchObject({ acraState: "up", keystoreVersion: 1 });

    const nonce = crypto.randomBytes(32).toString("hex");
    const doc = await client.attest(enclaveId, nonce);
    const verdict = verifyAttestationDocument(doc, {
      trustedRoots: [trustedRootFromPem(labRootPem, "lab", "lab root")],
      expectedNonce: nonce,
      expectedPcrs: { 0: lab.eif.description.Measurements.PCR0 },
      expectedInstanceId: host.instanceId,
      expectedRoleArn: host.roleArn,
    });
    expect(verdict.reasons).toEqual([]);
    expect(verdict.trusted).toBe(true);
    expect(verdict.debug).toBe(false);

    const stop = await client.startOperation({ kind: "stop", enclaveId, idempotencyKey: "it-stop-1", params: {} });
    expect((await finish(stop.operation)).status).toBe("succeeded");

    // acra-server's lines reached the emulated CloudWatch Logs, one stream per enclave, with Enclaver's prefix.
    const logs = new CloudWatchLogsClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "console"), maxAttempts: 1 });
    const deadline = Date.now() + 10_000;
    let messages: string[] = [];
    while (Date.now() < deadline) {
      const out = await logs
        .send(new GetLogEventsCommand({ logGroupName: "/lab/acra-server", logStreamName: enclaveId, startFromHead: true }))
        .catch(() => null);
      messages = (out?.events ?? []).map((e) => e.message ?? "");
      if (messages.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    logs.destroy();
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) expect(m.startsWith(" INFO  enclave         > ")).toBe(true);
    expect(JSON.parse(messages[0]!.slice(" INFO  enclave         > ".length))).toMatchObject({ product: "acra-server" });
  });
});

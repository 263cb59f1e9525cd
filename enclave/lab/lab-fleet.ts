/**
 * Brings up the lab's fleet side: the AWS emulator (KMS with attestation-bound key policies, CloudTrail,
 * CloudWatch Logs), the lab Nitro CA, simulated Nitro hosts (real agent processes), key material delivered as KMS
 * ciphertext, and one attested acra-server enclave per host. Also the "provocations" lab control offers.
 */
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import fs from "node:fs";
import path from "node:path";
import { labEifDescription, writeLabEif } from "../agent/lab-eif";
import type { Operation } from "../../lib/fleet/agent-protocol";
import { provisionKeyMaterial } from "../supervisor/key-material";
import { createAwsEmulator, labAwsClientConfig, type AwsEmulator } from "./aws";
import { labKmsAttestationVerifier } from "./attestation-verifier";
import { LAB_ROLE_ARN, startSimulatedHosts, type SimulatedHosts } from "./hosts/simulated-hosts";
import { ensureLabCa } from "./nitro/lab-ca";

export const LAB_ACCOUNT_ID = "111122223333";
export const LAB_REGIONS = ["us-east-1", "eu-west-1"];
export const LAB_LOG_GROUP = "/lab/acra-server";
export const LAB_IMAGE = { name: "acra-server", version: "0.96.0-lab.1" };
export const ROGUE_IMAGE = { name: "acra-server-patched", version: "0.96.0-rogue" };
const KEYSTORE_VERSION = 1;

export interface LabFleet {
  emulator: AwsEmulator;
  hosts: SimulatedHosts;
  labRootPem: string;
  labRootFile: string;
  keys: Record<string, string>;
  close(): Promise<void>;
  injectPoison(hostId: string): Promise<string>;
  /** Other things acra-server can be told to do: fail a decryption, be blocked by AcraCensor, lose its database. */
  injectAcra(hostId: string, what: "decrypt-failure" | "censor-block" | "db-lost"): Promise<string>;
  crashEnclave(hostId: string): Promise<string>;
  deployRogueImage(hostId: string): Promise<string>;
  injectUnattestedDecrypt(hostId: string): Promise<string>;
}

interface PersistedLab {
  keys: Record<string, string>;
  masterKeyBlobs: Record<string, string>;
}

/** The Acra master key's policy: administrators manage it; only an enclave running the approved image decrypts. */
export function labKeyPolicy(approvedPcr0: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      // AWS's default statement: IAM policies of the account decide too. It is what lets a leaked developer key
      // decrypt without attestation (the "rogue" principal), a misconfiguration the console must notice.
      { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${LAB_ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" },
      // The enclave role's own IAM policy allows kms:Decrypt, so the statement above would let it decrypt from any
      // image: an explicit Deny (which always wins) binds the role to the approved image.
      {
        Sid: "The enclave role only from the approved image",
        Effect: "Deny",
        Principal: { AWS: LAB_ROLE_ARN },
        Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom"],
        Resource: "*",
        Condition: { StringNotEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": approvedPcr0 } },
      },
      {
        Sid: "Decrypt the master key only in the approved enclave image, current keystore version",
        Effect: "Allow",
        Principal: { AWS: LAB_ROLE_ARN },
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: {
          StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": approvedPcr0 },
          StringEquals: { "kms:EncryptionContext:purpose": "acra-master-key", "kms:EncryptionContext:keystore_version": String(KEYSTORE_VERSION) },
        },
      },
      {
        Sid: "Data keys and randomness for the approved enclave image",
        Effect: "Allow",
        Principal: { AWS: LAB_ROLE_ARN },
        Action: ["kms:GenerateDataKey", "kms:GenerateRandom"],
        Resource: "*",
        Condition: { StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": approvedPcr0 } },
      },
    ],
  });
}

async function finish(hosts: SimulatedHosts, hostId: string, operation: Operation, timeoutMs = 45_000): Promise<Operation> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let last = operation;
  try {
    for await (const snapshot of hosts.client(hostId).streamOperation(operation.id, { signal: controller.signal })) last = snapshot;
  } catch (error) {
    // Out of patience: report where the operation got to rather than failing the whole lab.
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return last;
}

export async function startLabFleet(options: { dataDir: string; hostCount?: number; log?: (line: string) => void }): Promise<LabFleet> {
  const log = options.log ?? (() => undefined);
  const stateFile = path.join(options.dataDir, "lab-fleet.json");
  const persisted: PersistedLab = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, "utf8")) as PersistedLab) : { keys: {}, masterKeyBlobs: {} };

  const labCaDir = path.join(options.dataDir, "lab-ca");
  const ca = await ensureLabCa(labCaDir);
  const labRootFile = path.join(labCaDir, "lab-root.pem");
  fs.writeFileSync(labRootFile, ca.rootPem);

  const emulator = await createAwsEmulator({
    dataDir: path.join(options.dataDir, "aws"),
    accountId: LAB_ACCOUNT_ID,
    regions: LAB_REGIONS,
    attestationVerifier: labKmsAttestationVerifier(ca.rootPem),
  });
  log(`AWS emulator on ${emulator.endpoint}`);

  const approvedPcr0 = labEifDescription(LAB_IMAGE).Measurements.PCR0;
  for (const region of LAB_REGIONS) {
    if (persisted.keys[region]) continue;
    const admin = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, region, "admin"), maxAttempts: 3 });
    const created = await admin.send(new CreateKeyCommand({ Description: "Acra master key (lab)", Policy: labKeyPolicy(approvedPcr0) }));
    await admin.send(new CreateAliasCommand({ AliasName: "alias/acra-master-key", TargetKeyId: created.KeyMetadata!.KeyId! }));
    persisted.keys[region] = created.KeyMetadata!.KeyId!;
    admin.destroy();
  }

  const hosts = await startSimulatedHosts({
    dataDir: path.join(options.dataDir, "hosts"),
    count: options.hostCount ?? 3,
    regions: ["us-east-1", "us-east-1", "eu-west-1"],
    aws: { endpoint: emulator.endpoint },
    kmsKeyId: persisted.keys,
    labCaDir,
    eif: LAB_IMAGE,
    cloudWatchLogGroup: LAB_LOG_GROUP,
  });
  log(`${hosts.hosts.length} simulated Nitro hosts: ${hosts.hosts.map((host) => host.id).join(", ")}`);

  const bootId = Date.now().toString(36);
  await Promise.all(
    hosts.hosts.map(async (host) => {
      const client = hosts.client(host.id);
      const admin = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, host.region, "admin"), maxAttempts: 3 });
      const blobs = await provisionKeyMaterial({ kms: admin, keyId: persisted.keys[host.region]!, keystoreVersion: KEYSTORE_VERSION });
      admin.destroy();
      persisted.masterKeyBlobs[host.id] = blobs.masterKey.ciphertextBase64;
      const delivered = await client.startOperation({
        kind: "deliver-keys",
        idempotencyKey: `lab-keys-${bootId}`,
        params: {
          version: KEYSTORE_VERSION,
          blobs: [
            { name: "master-key", ciphertextBase64: blobs.masterKey.ciphertextBase64 },
            { name: "keystore", ciphertextBase64: blobs.keystore.ciphertextBase64 },
          ],
        },
      });
      await finish(hosts, host.id, delivered.operation);
      const running = (await client.listEnclaves()).enclaves.filter((enclave) => enclave.State === "RUNNING");
      if (running.length > 0) return;
      const started = await client.startOperation({
        kind: "start",
        idempotencyKey: `lab-start-${bootId}`,
        params: { eifUri: hosts.eif.path, cpuCount: 2, memoryMiB: 2048, enclaveName: "acra-server", expectedMeasurements: hosts.eif.description.Measurements },
      });
      const done = await finish(hosts, host.id, started.operation);
      if (done.status !== "succeeded") log(`enclave on ${host.id} did not start: ${done.error?.message ?? done.status}`);
    }),
  );
  fs.writeFileSync(stateFile, JSON.stringify(persisted, null, 2), { mode: 0o600 });

  const runningEnclave = async (hostId: string) => {
    const enclaves = (await hosts.client(hostId).listEnclaves()).enclaves.filter((enclave) => enclave.State === "RUNNING");
    if (enclaves.length === 0) throw new Error(`host ${hostId} runs no enclave`);
    return enclaves[0]!;
  };
  const hostById = (hostId: string) => {
    const host = hosts.hosts.find((candidate) => candidate.id === hostId);
    if (!host) throw new Error(`no lab host "${hostId}" (hosts: ${hosts.hosts.map((candidate) => candidate.id).join(", ")})`);
    return host;
  };
  const simulatedDetails = (hostId: string, enclaveId: string) => {
    // The simulator backend's own record of its enclaves (agent data dir / simulator), which has the lab-only ports.
    const file = path.join(options.dataDir, "hosts", "hosts", hostId, "data", "simulator", "simulated-enclaves.json");
    const list = JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number; ports: { acraControl: number }; entry: { EnclaveID: string } }[];
    const found = list.find((item) => item.entry.EnclaveID === enclaveId);
    if (!found) throw new Error(`no simulator state for enclave ${enclaveId} on ${hostId}`);
    return found;
  };

  const injectIntoAcra = async (hostId: string, what: string) => {
    hostById(hostId);
    const enclave = await runningEnclave(hostId);
    const details = simulatedDetails(hostId, enclave.EnclaveID);
    const response = await fetch(`http://127.0.0.1:${details.ports.acraControl}/inject/${what}`, { method: "POST" });
    if (!response.ok) throw new Error(`acra-server simulator answered ${response.status}`);
    return enclave.EnclaveID;
  };

  return {
    emulator,
    hosts,
    labRootPem: ca.rootPem,
    labRootFile,
    keys: persisted.keys,
    async close() {
      await hosts.close();
      await emulator.close();
    },
    async injectPoison(hostId) {
      const enclaveId = await injectIntoAcra(hostId, "poison");
      return `poison record hit in ${enclaveId} on ${hostId}`;
    },
    async injectAcra(hostId, what) {
      const enclaveId = await injectIntoAcra(hostId, what);
      return `acra-server in ${enclaveId} on ${hostId}: ${what}`;
    },
    async crashEnclave(hostId) {
      hostById(hostId);
      const enclave = await runningEnclave(hostId);
      const details = simulatedDetails(hostId, enclave.EnclaveID);
      process.kill(details.pid, "SIGKILL");
      return `enclave ${enclave.EnclaveID} on ${hostId} killed (pid ${details.pid})`;
    },
    async deployRogueImage(hostId) {
      hostById(hostId);
      const enclave = await runningEnclave(hostId);
      const rogueFile = path.join(path.dirname(hosts.eif.path), `${ROGUE_IMAGE.name}-${ROGUE_IMAGE.version}.eif`);
      const description = await writeLabEif(rogueFile, ROGUE_IMAGE);
      const { operation } = await hosts.client(hostId).startOperation({
        kind: "redeploy",
        enclaveId: enclave.EnclaveID,
        idempotencyKey: `lab-rogue-${Date.now().toString(36)}`,
        params: { eifUri: rogueFile, expectedMeasurements: description.Measurements },
      });
      // The new enclave never becomes healthy (KMS refuses its key), so the operation is not awaited to its end.
      const done = await finish(hosts, hostId, operation, 10_000);
      return `redeploy of ${enclave.EnclaveID} on ${hostId} with an unapproved image (PCR0 ${description.Measurements.PCR0.slice(0, 16)}…): operation ${done.status}`;
    },
    async injectUnattestedDecrypt(hostId) {
      const host = hostById(hostId);
      const blob = persisted.masterKeyBlobs[hostId];
      if (!blob) throw new Error(`no master-key blob recorded for ${hostId}`);
      const rogue = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, host.region, "rogue"), maxAttempts: 1 });
      try {
        await rogue.send(
          new DecryptCommand({ CiphertextBlob: Buffer.from(blob, "base64"), EncryptionContext: { purpose: "acra-master-key", keystore_version: String(KEYSTORE_VERSION) } }),
        );
        return `a rogue principal decrypted ${hostId}'s master key without attestation (see CloudTrail in ${host.region})`;
      } catch (error) {
        return `a rogue principal tried to decrypt ${hostId}'s master key without attestation and was refused (${(error as Error).name})`;
      } finally {
        rogue.destroy();
      }
    },
  };
}

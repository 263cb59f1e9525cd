import crypto from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { decode } from "cbor-x";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsEmulator, LAB_CREDENTIALS, labAwsClientConfig, type AwsEmulator } from "../aws";
import { testAttestationVerifier } from "../aws/test-support";
import { provisionKeyMaterial, type HostKeyBlob } from "../../supervisor/key-material";
import { sealKeystore } from "../../supervisor/keystore-blob";
import type { SupervisorHealth } from "../../supervisor/supervisor";
import { ensureLabCa, type LabCa } from "./lab-ca";
import { runSimulatedEnclave, type SimulatedEnclave } from "./simulated-enclave-runtime";
import { simulatedEnclaveConfigSchema, type SimulatedEnclaveConfigInput } from "./simulated-enclave-config";

const ACCOUNT = "111122223333";
const REGION = "eu-west-1";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/acra-enclave-role`;
const STAND_IN = path.resolve(__dirname, "../../supervisor/test-fixtures/stand-in-acra.mjs");
const MEASUREMENTS = {
  pcr0: crypto.createHash("sha384").update("approved acra image").digest("hex"),
  pcr1: crypto.createHash("sha384").update("kernel").digest("hex"),
  pcr2: crypto.createHash("sha384").update("app").digest("hex"),
};
const CONTROL_TOKEN = "control-token-for-tests-0123456789";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(probe: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The host agent's key store, as the supervisor sees it: opaque blobs or 404. */
class HostKeyStore {
  masterKey: HostKeyBlob | null = null;
  keystore: HostKeyBlob | null = null;
  requests: string[] = [];
  private server = http.createServer((req, res) => {
    this.requests.push(req.url ?? "");
    const blob = req.url === "/keys/master-key" ? this.masterKey : req.url === "/keys/keystore" ? this.keystore : null;
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(blob));
  });
  url = "";
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/keys`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe("simulated enclave: supervisor boot against the AWS emulator", () => {
  let dir: string;
  let labCa: LabCa;
  let emulator: AwsEmulator;
  let admin: KMSClient;
  let keyId: string;
  const enclaves: SimulatedEnclave[] = [];
  const hosts: HostKeyStore[] = [];
  const masterKey = crypto.randomBytes(32);
  let v2: { masterKey: HostKeyBlob; keystore: HostKeyBlob };
  let v1: { masterKey: HostKeyBlob; keystore: HostKeyBlob };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "sim-enclave-"));
    labCa = await ensureLabCa(path.join(dir, "ca"));
    emulator = await createAwsEmulator({
      dataDir: path.join(dir, "aws"),
      accountId: ACCOUNT,
      regions: [REGION],
      // The emulator's own verifier (its test support, independent of our signer) anchored on our lab root.
      attestationVerifier: testAttestationVerifier(labCa.rootDer),
    });
    admin = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "admin"), maxAttempts: 1 });
    // Only an attested enclave running the approved image, and only for the current keystore version, may decrypt.
    const policy = {
      Version: "2012-10-17",
      Statement: [
        { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:Get*", "kms:Encrypt"], Resource: "*" },
        {
          Sid: "Enclave decrypts the master key",
          Effect: "Allow",
          Principal: { AWS: ROLE_ARN },
          Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom", "kms:DescribeKey"],
          Resource: "*",
          Condition: {
            StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": MEASUREMENTS.pcr0 },
            StringEquals: { "kms:EncryptionContext:purpose": "acra-master-key", "kms:EncryptionContext:keystore_version": "2" },
          },
        },
      ],
    };
    const created = await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(policy), Description: "acra master key" }));
    keyId = created.KeyMetadata!.KeyId!;
    const files = { "client1_storage_sym": Buffer.from("encrypted-by-acra-v2"), ".poison_key/poison_key": Buffer.from("poison") };
    v2 = await provisionKeyMaterial({ kms: admin, keyId, keystoreVersion: 2, keystoreFiles: files, masterKey });
    v1 = await provisionKeyMaterial({ kms: admin, keyId, keystoreVersion: 1, keystoreFiles: { client1_storage_sym: Buffer.from("old") }, masterKey });
  });

  afterAll(async () => {
    await Promise.all(enclaves.map((e) => e.stop()));
    await Promise.all(hosts.map((h) => h.stop()));
    admin?.destroy();
    await emulator?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function boot(overrides: Partial<SimulatedEnclaveConfigInput> = {}) {
    const host = new HostKeyStore();
    await host.start();
    hosts.push(host);
    const lines: string[] = [];
    const events: { event: string; detail: Record<string, unknown> }[] = [];
    const config = simulatedEnclaveConfigSchema.parse({
      enclaveId: `i-0lab0000000000001-enc${crypto.randomBytes(8).toString("hex")}`,
      enclaveCid: 16,
      parentInstanceId: "i-0lab0000000000001",
      roleArn: ROLE_ARN,
      region: REGION,
      debugMode: false,
      measurements: MEASUREMENTS,
      labCaDir: labCa.dir,
      supervisorPort: await freePort(),
      odynApiPort: await freePort(),
      kmsProxyPort: await freePort(),
      hostKeyStoreUrl: host.url,
      controlToken: CONTROL_TOKEN,
      aws: { endpoint: emulator.endpoint, accessKeyId: LAB_CREDENTIALS.enclave.accessKeyId, secretAccessKey: LAB_CREDENTIALS.enclave.secretAccessKey },
      kmsKeyId: keyId,
      acra: { port: await freePort(), metricsPort: await freePort(), controlPort: await freePort(), logFormat: "json", clientId: "app1" },
      ...overrides,
    });
    const enclave = await runSimulatedEnclave(config, {
      acraEntry: STAND_IN,
      timing: { keysRetryMs: 100, restartMinMs: 100, restartMaxMs: 400, healthPollMs: 50 },
      writeLine: (l) => lines.push(l),
      log: (event, detail) => events.push({ event, detail }),
    });
    enclaves.push(enclave);
    const base = `http://127.0.0.1:${config.supervisorPort}`;
    const health = async () => (await (await fetch(`${base}/v1/health`)).json()) as SupervisorHealth;
    return { host, enclave, config, base, health, lines, events };
  }

  it("waits for keys, serves attestation meanwhile, then decrypts through the KMS proxy and starts acra", async () => {
    const { host, base, health, lines } = await boot();
    const waiting = await waitFor(health, (h) => h.acra.state === "waiting-for-keys");
    expect(waiting).toMatchObject({ supervisor: "ok", keystoreVersion: null, acra: { pid: null, restarts: 0 } });

    // Attestation is served before any key exists; the document is the raw CBOR with our nonce in it.
    const nonce = crypto.randomBytes(32).toString("hex");
    const res = await fetch(`${base}/v1/attestation`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ nonce }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/cbor");
    const doc = Buffer.from(await res.arrayBuffer());
    expect(doc.subarray(0, 4).toString("hex")).toBe("8444a101");
    const payload = decode((decode(doc) as Buffer[])[2]!) as { nonce: Buffer; module_id: string };
    expect(Buffer.from(payload.nonce).toString("hex")).toBe(nonce);
    expect(payload.module_id).toMatch(/^i-0lab0000000000001-enc[0-9a-f]{16}$/);

    host.masterKey = v2.masterKey;
    host.keystore = v2.keystore;
    const up = await waitFor(health, (h) => h.acra.state === "up");
    expect(up.keystoreVersion).toBe(2);
    expect(up.keys).toMatchObject({ phase: "loaded", boundVersion: 2 });
    expect(host.requests).toEqual(expect.arrayContaining(["/keys/master-key", "/keys/keystore"]));

    // acra received exactly the master key, and its stdout and stderr lines were relayed.
    await waitFor(() => lines.length, (n) => n >= 2);
    const started = JSON.parse(lines.find((l) => l.includes("stand-in acra listening"))!) as { masterKeySha256: string; kmsEndpoint: string };
    expect(started.masterKeySha256).toBe(crypto.createHash("sha256").update(masterKey).digest("hex"));
    expect(started.kmsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines).toContain("stderr line from stand-in acra");
    expect(up.acra.lastLogAt).not.toBeNull();

    // KMS saw an attested Decrypt: CloudTrail records the Recipient's PCR0 and the enclave's module id.
    const trail = new CloudTrailClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "console"), maxAttempts: 1 });
    const events = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Decrypt" }] }));
    trail.destroy();
    const recipients = (events.Events ?? [])
      .map((e) => JSON.parse(e.CloudTrailEvent ?? "{}") as { additionalEventData?: { recipient?: Record<string, string> }; errorCode?: string })
      .filter((e) => !e.errorCode && e.additionalEventData?.recipient?.attestationDocumentModuleId === payload.module_id);
    expect(recipients.length).toBeGreaterThanOrEqual(1);
    expect(recipients[0]!.additionalEventData!.recipient!.attestationDocumentEnclaveImageDigest!.toLowerCase()).toBe(MEASUREMENTS.pcr0);
  });

  it("refuses control requests without the right bearer token, restarts acra on request and after it dies", async () => {
    const { host, base, health } = await boot();
    host.masterKey = v2.masterKey;
    host.keystore = v2.keystore;
    const up = await waitFor(health, (h) => h.acra.state === "up");

    const post = (p: string, token?: string) => fetch(`${base}${p}`, { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await post("/v1/control/restart-acra")).status).toBe(401);
    expect((await post("/v1/control/restart-acra", `${CONTROL_TOKEN}x`)).status).toBe(401);
    expect((await post("/v1/control/restart-acra", CONTROL_TOKEN.slice(0, -1))).status).toBe(401);
    expect((await health()).acra.restarts).toBe(0);

    expect((await post("/v1/control/restart-acra", CONTROL_TOKEN)).status).toBe(200);
    const restarted = await waitFor(health, (h) => h.acra.state === "up" && h.acra.pid !== up.acra.pid);
    expect(restarted.acra.restarts).toBe(1);

    // acra-server dies (e.g. poison record shutdown): the supervisor notices and brings it back, counting it.
    process.kill(restarted.acra.pid!, "SIGKILL");
    const back = await waitFor(health, (h) => h.acra.state === "up" && h.acra.pid !== restarted.acra.pid);
    expect(back.acra.restarts).toBe(2);
    expect(back.acra.lastExit).toMatchObject({ signal: "SIGKILL" });
  });

  it("refuses a replayed older keystore: health says so and acra is not started", async () => {
    const { host, health } = await boot();
    host.masterKey = v2.masterKey; // current master key, bound to keystore v2
    host.keystore = v1.keystore; // the host hands an older keystore
    const rejected = await waitFor(health, (h) => h.acra.state === "keystore-rejected");
    expect(rejected.acra.pid).toBeNull();
    expect(rejected.keystoreVersion).toBeNull();
    expect(rejected.keys.detail).toMatch(/older than v2/);
    // Relabelling the old keystore as v2 does not help: the version is sealed.
    host.keystore = { ...v1.keystore, version: 2 };
    await waitFor(health, (h) => h.keys.detail?.includes("label-mismatch") ?? false);
    expect((await health()).acra.pid).toBeNull();
    // The genuine keystore is accepted once delivered.
    host.keystore = v2.keystore;
    await waitFor(health, (h) => h.acra.state === "up");
  });

  it("keeps acra running on its good key when a reload meets a replayed keystore", async () => {
    const { host, base, health } = await boot();
    host.masterKey = v2.masterKey;
    host.keystore = v2.keystore;
    const up = await waitFor(health, (h) => h.acra.state === "up");
    host.keystore = v1.keystore;
    const res = await fetch(`${base}/v1/control/reload-keys`, { method: "POST", headers: { authorization: `Bearer ${CONTROL_TOKEN}` } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ ok: false, phase: "keystore-rejected" });
    const after = await health();
    expect(after).toMatchObject({ keystoreVersion: 2, acra: { state: "up", pid: up.acra.pid } });
  });

  it("cannot decrypt an old master key/keystore pair: the key policy pins the keystore version", async () => {
    const { host, health } = await boot();
    host.masterKey = v1.masterKey;
    host.keystore = v1.keystore;
    const denied = await waitFor(health, (h) => h.acra.state === "kms-error");
    expect(denied.keys.detail).toMatch(/AccessDenied/);
    expect(denied.acra.pid).toBeNull();
  });

  it("a debug-mode enclave (PCR0 zero) is refused by KMS and never gets the key", async () => {
    const { host, health } = await boot({ debugMode: true });
    host.masterKey = v2.masterKey;
    host.keystore = v2.keystore;
    const denied = await waitFor(health, (h) => h.acra.state === "kms-error");
    expect(denied.keys.detail).toMatch(/AccessDenied/);
  });

  it("rejects bad attestation requests and unknown routes", async () => {
    const { base } = await boot();
    const post = (body: string) => fetch(`${base}/v1/attestation`, { method: "POST", body });
    expect((await post("{")).status).toBe(400);
    expect((await post(JSON.stringify({ nonce: "xyz" }))).status).toBe(400);
    expect((await post(JSON.stringify({}))).status).toBe(400);
    expect((await post(JSON.stringify({ nonce: "00".repeat(1025) }))).status).toBe(400);
    expect((await fetch(`${base}/v1/attestation`)).status).toBe(405);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const crash = await fetch(`${base}/v1/control/unknown`, { method: "POST", headers: { authorization: `Bearer ${CONTROL_TOKEN}` } });
    expect(crash.status).toBe(404);
  });
});

// Keep the sealed-keystore helper honest here too: a keystore sealed under another master key is refused.
describe("keystore sealed under a different master key", () => {
  it("does not authenticate", async () => {
    const { openKeystore } = await import("../../supervisor/keystore-blob");
    const blob = sealKeystore(crypto.randomBytes(32), 3, {});
    expect(openKeystore(crypto.randomBytes(32), blob, 3)).toMatchObject({ ok: false, reason: "unauthenticated" });
  });
});

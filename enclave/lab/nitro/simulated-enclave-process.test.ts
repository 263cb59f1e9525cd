import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsEmulator, LAB_CREDENTIALS, labAwsClientConfig, type AwsEmulator } from "../aws";
import { testAttestationVerifier } from "../aws/test-support";
import { provisionKeyMaterial, type HostKeyBlob } from "../../supervisor/key-material";
import type { SupervisorHealth } from "../../supervisor/supervisor";
import { ensureLabCa } from "./lab-ca";
import type { SimulatedEnclaveConfigInput } from "./simulated-enclave-config";

/**
 * The entry point as the agent runs it: a child process with the real acra-server simulator, its stdout carrying
 * acra-server's lines, SIGTERM = terminate-enclave (exit 0 within 2 s), crash = non-zero exit.
 */
const REPO = path.resolve(__dirname, "../../..");
const ENTRY = path.join(REPO, "enclave/lab/nitro/simulated-enclave.ts");
const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const PCR0 = crypto.createHash("sha384").update("image").digest("hex");
const TOKEN = "process-test-control-token-000000";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True while the process exists and is not a zombie (in a container, PID 1 may never reap orphans). */
async function alive(pid: number): Promise<boolean> {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

interface Running {
  child: ChildProcess;
  stdout: string[];
  exit: Promise<{ code: number | null; signal: string | null; at: number }>;
  base: string;
}

describe("simulated-enclave.ts as a process", () => {
  let dir: string;
  let emulator: AwsEmulator;
  let keyId: string;
  let blobs: { masterKey: HostKeyBlob; keystore: HostKeyBlob };
  let host: http.Server;
  let hostUrl: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "sim-enclave-proc-"));
    const ca = await ensureLabCa(path.join(dir, "ca"));
    emulator = await createAwsEmulator({ dataDir: path.join(dir, "aws"), accountId: ACCOUNT, regions: [REGION], attestationVerifier: testAttestationVerifier(ca.rootDer) });
    const admin = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "admin"), maxAttempts: 1 });
    const policy = {
      Version: "2012-10-17",
      Statement: [
        { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:Create*", "kms:Describe*", "kms:Encrypt"], Resource: "*" },
        {
          Sid: "Attested enclave",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/acra-enclave-role` },
          Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom"],
          Resource: "*",
          Condition: { StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": PCR0 } },
        },
      ],
    };
    keyId = (await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }))).KeyMetadata!.KeyId!;
    blobs = await provisionKeyMaterial({ kms: admin, keyId, keystoreVersion: 1 });
    admin.destroy();
    host = http.createServer((req, res) => {
      const blob = req.url === "/k/master-key" ? blobs.masterKey : req.url === "/k/keystore" ? blobs.keystore : null;
      if (!blob) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(blob));
    });
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    hostUrl = `http://127.0.0.1:${(host.address() as net.AddressInfo).port}/k`;
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    host.closeAllConnections();
    await new Promise((r) => host.close(r));
    await emulator.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Running> {
    const supervisorPort = await freePort();
    const config: SimulatedEnclaveConfigInput = {
      enclaveId: "i-0aaaabbbbccccdddd-enc0123456789abcdef",
      enclaveCid: 17,
      parentInstanceId: "i-0aaaabbbbccccdddd",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/acra-enclave-role`,
      region: REGION,
      debugMode: false,
      measurements: { pcr0: PCR0, pcr1: "01".repeat(48), pcr2: "02".repeat(48) },
      labCaDir: path.join(dir, "ca"),
      supervisorPort,
      odynApiPort: await freePort(),
      kmsProxyPort: await freePort(),
      hostKeyStoreUrl: hostUrl,
      controlToken: TOKEN,
      aws: { endpoint: emulator.endpoint, accessKeyId: LAB_CREDENTIALS.enclave.accessKeyId, secretAccessKey: LAB_CREDENTIALS.enclave.secretAccessKey },
      kmsKeyId: keyId,
      acra: { port: await freePort(), metricsPort: await freePort(), controlPort: await freePort(), logFormat: "json", clientId: "app1" },
    };
    const file = path.join(dir, `config-${supervisorPort}.json`);
    await fs.writeFile(file, JSON.stringify(config));
    const child = spawn(process.execPath, ["--import", "tsx", ENTRY, "--config", file], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const stdout: string[] = [];
    readline.createInterface({ input: child.stdout! }).on("line", (l) => stdout.push(l));
    child.stderr!.resume();
    const exit = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    return { child, stdout, exit, base: `http://127.0.0.1:${supervisorPort}` };
  }

  async function waitUp(base: string): Promise<SupervisorHealth> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const h = (await (await fetch(`${base}/v1/health`)).json()) as SupervisorHealth;
        if (h.acra.state === "up") return h;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("simulated enclave did not come up");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("runs the real acra-server simulator, relays its log lines on stdout, exits 0 on SIGTERM within 2 s", async () => {
    const run = await start();
    const health = await waitUp(run.base);
    expect(health.keystoreVersion).toBe(1);
    // stdout carries acra-server's JSON lines only (the supervisor's own log is on stderr).
    const deadline = Date.now() + 5000;
    while (run.stdout.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(run.stdout.length).toBeGreaterThan(0);
    for (const line of run.stdout) expect(JSON.parse(line)).toMatchObject({ product: "acra-server" });
    const acraPid = health.acra.pid!;

    const sentAt = Date.now();
    run.child.kill("SIGTERM");
    const exit = await run.exit;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(2000);
    // acra-server went down with the enclave.
    expect(await alive(acraPid)).toBe(false);
  });

  it("exits non-zero when told to crash, taking acra-server with it", async () => {
    const run = await start();
    const health = await waitUp(run.base);
    const res = await fetch(`${run.base}/v1/control/crash`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(202);
    const exit = await run.exit;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(await alive(health.acra.pid!)).toBe(false);
  });

  it("exits 2 on a bad config", async () => {
    const file = path.join(dir, "bad.json");
    await fs.writeFile(file, JSON.stringify({ enclaveId: "x" }));
    const child = spawn(process.execPath, ["--import", "tsx", ENTRY, "--config", file], { cwd: REPO, stdio: "ignore" });
    children.push(child);
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(2);
  });
});

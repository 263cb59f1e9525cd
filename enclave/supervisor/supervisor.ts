import crypto from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { z } from "zod";
import { AcraProcess, type AcraStatus } from "./acra-process";
import type { SupervisorConfig } from "./config";
import { httpRequest, listen, readBody, sendJson, sendText, type RunningServer } from "./http-client";
import { checkKeystoreVersion, masterKeyEncryptionContext, MASTER_KEY_BYTES, openKeystore, type KeystoreFiles } from "./keystore-blob";

/**
 * The enclave supervisor: first process in the enclave. Serves attestation (proxied to Odyn, bytes untouched),
 * health and authenticated control on its ingress port; at boot fetches the opaque key blobs from the host,
 * decrypts the master key through Odyn's KMS proxy (so KMS sees the attestation document and enforces PCR0), checks
 * the keystore against replay, and keeps acra-server running with the key.
 */

export type KeyPhase = "fetching" | "waiting-for-keys" | "kms-error" | "host-error" | "keystore-rejected" | "loaded";
/** acra.state in /v1/health: the key phase until the key is loaded, then the child's own state. */
export type AcraHealthState = "starting" | "up" | "down" | "stopped" | "waiting-for-keys" | "kms-error" | "host-error" | "keystore-rejected";

export interface SupervisorHealth {
  supervisor: "ok";
  acra: { state: AcraHealthState; pid: number | null; restarts: number; lastLogAt: string | null; lastExit: AcraStatus["lastExit"] };
  keystoreVersion: number | null;
  keys: { phase: KeyPhase; detail: string | null; boundVersion: number | null; attempts: number; lastAttemptAt: string | null };
}

export interface SupervisorHooks {
  /** Lab: POST /v1/control/crash asks the simulated enclave to die with a non-zero status. */
  onCrash?: () => void;
  /** Where acra-server's lines go (default: stdout). */
  writeLine?: (line: string) => void;
  /** Supervisor's own structured log (default: JSON lines on stderr, kept apart from acra-server's stream). */
  log?: (event: string, detail: Record<string, unknown>) => void;
}

export interface SupervisorHandle {
  port: number;
  url: string;
  health(): SupervisorHealth;
  /** Runs one key load now (what /v1/control/reload-keys does). */
  reloadKeys(): Promise<KeyLoadResult>;
  close(): Promise<void>;
  /** Synchronous: kill acra-server immediately (process exit path). */
  killNow(): void;
}

const blobSchema = z.object({ ciphertextBase64: z.string().min(1), version: z.number().int().nonnegative() });

export type KeyLoadResult =
  | { ok: true; masterKey: Buffer; keystoreVersion: number; boundVersion: number; files: KeystoreFiles }
  | { ok: false; phase: Exclude<KeyPhase, "loaded" | "fetching">; detail: string };

const MAX_ATTESTATION_FIELD = 1024;

function defaultLog(event: string, detail: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), product: "enclave-supervisor", msg: event, ...detail })}\n`);
}

/** Constant-time token check: both sides hashed first so lengths do not leak through timingSafeEqual. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = crypto.createHash("sha256").update(presented).digest();
  const b = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(a, b) && presented.length === expected.length;
}

export async function startSupervisor(cfg: SupervisorConfig, hooks: SupervisorHooks = {}): Promise<SupervisorHandle> {
  const log = hooks.log ?? defaultLog;
  const kms = new KMSClient({
    endpoint: cfg.kmsEndpoint,
    region: cfg.region,
    // The KMS proxy re-signs every request with the instance role's credentials; it only reads the region from
    // our signature, so these never leave the enclave.
    credentials: { accessKeyId: "enclave-kms-proxy", secretAccessKey: "enclave-kms-proxy" },
    maxAttempts: 2,
  });
  const acra = new AcraProcess({
    command: cfg.acra.command,
    cwd: cfg.acra.cwd,
    env: cfg.acra.env,
    healthPort: cfg.acra.healthPort,
    restartMinMs: cfg.timing.restartMinMs,
    restartMaxMs: cfg.timing.restartMaxMs,
    stableAfterMs: cfg.timing.stableAfterMs,
    healthPollMs: cfg.timing.healthPollMs,
    ...(hooks.writeLine ? { writeLine: hooks.writeLine } : {}),
    onEvent: (e, d) => log(e, d),
  });

  const keys: SupervisorHealth["keys"] = { phase: "fetching", detail: null, boundVersion: null, attempts: 0, lastAttemptAt: null };
  let keystoreVersion: number | null = null;
  let loadedKeyHash: string | null = null;
  let keysDir = cfg.acra.keysDir ?? null;
  let keyTimer: NodeJS.Timeout | null = null;
  let kmsFailures = 0;
  let closed = false;
  let loading: Promise<KeyLoadResult> | null = null;

  async function fetchBlob(name: "master-key" | "keystore"): Promise<z.infer<typeof blobSchema> | "absent"> {
    const url = `${cfg.hostKeyStoreUrl.replace(/\/+$/, "")}/${name}`;
    const res = await httpRequest(url, { timeoutMs: 5000, maxBodyBytes: 8 * 1024 * 1024, ...(cfg.hostProxyUrl ? { proxyUrl: cfg.hostProxyUrl } : {}) });
    if (res.status === 404) return "absent";
    if (res.status !== 200) throw new Error(`host answered ${res.status} for ${name}`);
    return blobSchema.parse(JSON.parse(res.body.toString("utf8")));
  }

  async function loadKeyMaterial(): Promise<KeyLoadResult> {
    let mk: z.infer<typeof blobSchema> | "absent";
    let ks: z.infer<typeof blobSchema> | "absent";
    try {
      [mk, ks] = await Promise.all([fetchBlob("master-key"), fetchBlob("keystore")]);
    } catch (err) {
      return { ok: false, phase: "host-error", detail: `cannot fetch key blobs from the host: ${(err as Error).message}` };
    }
    if (mk === "absent" || ks === "absent") {
      return { ok: false, phase: "waiting-for-keys", detail: `host has no ${mk === "absent" ? "master key" : "keystore"} yet` };
    }
    let masterKey: Buffer;
    try {
      const out = await kms.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(mk.ciphertextBase64, "base64"),
          KeyId: cfg.kmsKeyId,
          EncryptionContext: masterKeyEncryptionContext(mk.version),
          EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
        }),
      );
      if (!out.Plaintext) throw new Error("KMS returned no plaintext");
      masterKey = Buffer.from(out.Plaintext);
    } catch (err) {
      const e = err as Error;
      return { ok: false, phase: "kms-error", detail: `KMS Decrypt of the master key failed: ${e.name}: ${e.message}` };
    }
    if (masterKey.length !== MASTER_KEY_BYTES) {
      masterKey.fill(0);
      return { ok: false, phase: "kms-error", detail: `master key has ${masterKey.length} bytes, expected ${MASTER_KEY_BYTES}` };
    }
    const opened = openKeystore(masterKey, Buffer.from(ks.ciphertextBase64, "base64"), ks.version);
    if (!opened.ok) {
      masterKey.fill(0);
      return { ok: false, phase: "keystore-rejected", detail: `${opened.reason}: ${opened.detail}` };
    }
    const verdict = checkKeystoreVersion(mk.version, opened.version);
    if (!verdict.ok) {
      masterKey.fill(0);
      return { ok: false, phase: "keystore-rejected", detail: verdict.detail };
    }
    return { ok: true, masterKey, keystoreVersion: opened.version, boundVersion: mk.version, files: opened.files };
  }

  async function writeKeystore(files: KeystoreFiles): Promise<string> {
    if (!keysDir) keysDir = await fs.mkdtemp(path.join(os.tmpdir(), "acra-keys-"));
    await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
    for (const entry of await fs.readdir(keysDir)) await fs.rm(path.join(keysDir, entry), { recursive: true, force: true });
    for (const [rel, content] of Object.entries(files)) {
      const target = path.join(keysDir, rel);
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await fs.writeFile(target, content, { mode: 0o600 });
    }
    return keysDir;
  }

  /** One attempt; applies the result (start/restart acra) and returns it. */
  async function attempt(): Promise<KeyLoadResult> {
    if (loading) return loading;
    loading = (async () => {
      keys.attempts += 1;
      keys.lastAttemptAt = new Date().toISOString();
      const result = await loadKeyMaterial();
      if (closed) return result;
      if (!result.ok) {
        const running = keys.phase === "loaded";
        log("keys-not-loaded", { phase: result.phase, detail: result.detail, keepRunning: running });
        // With acra already running on a good key, a bad reload does not stop it; it is reported in keys.detail.
        if (!running) keys.phase = result.phase;
        keys.detail = result.detail;
        return result;
      }
      const hash = crypto.createHash("sha256").update(result.masterKey).update(String(result.keystoreVersion)).digest("hex");
      keys.boundVersion = result.boundVersion;
      keys.detail = null;
      if (hash !== loadedKeyHash || acra.status().state === "stopped") {
        await writeKeystore(result.files);
        keys.phase = "loaded";
        keystoreVersion = result.keystoreVersion;
        loadedKeyHash = hash;
        log("keys-loaded", { keystoreVersion: result.keystoreVersion, boundVersion: result.boundVersion });
        await acra.start(result.masterKey);
      }
      result.masterKey.fill(0);
      return result;
    })().finally(() => {
      loading = null;
    });
    return loading;
  }

  function scheduleBootLoop(delayMs: number): void {
    if (closed) return;
    keyTimer = setTimeout(async () => {
      keyTimer = null;
      const result = await attempt().catch((err: Error): KeyLoadResult => ({ ok: false, phase: "host-error", detail: err.message }));
      if (closed || result.ok || keys.phase === "loaded") return;
      kmsFailures = result.phase === "kms-error" ? kmsFailures + 1 : 0;
      const delay = result.phase === "kms-error" ? Math.min(30_000, cfg.timing.keysRetryMs * 2 ** Math.min(kmsFailures, 5)) : cfg.timing.keysRetryMs;
      scheduleBootLoop(delay);
    }, delayMs);
  }

  function health(): SupervisorHealth {
    const s = acra.status();
    const state: AcraHealthState = keys.phase === "loaded" ? s.state : keys.phase === "fetching" ? "starting" : keys.phase;
    return {
      supervisor: "ok",
      acra: { state, pid: s.pid, restarts: s.restarts, lastLogAt: s.lastLogAt, lastExit: s.lastExit },
      keystoreVersion,
      keys: { ...keys },
    };
  }

  async function handleAttestation(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let input: { nonce?: unknown; userData?: unknown; publicKey?: unknown };
    try {
      input = JSON.parse((await readBody(req, 16 * 1024)).toString("utf8")) as typeof input;
    } catch {
      return sendJson(res, 400, { error: "body must be JSON {nonce: hex, userData?: base64, publicKey?: PEM}" });
    }
    if (typeof input.nonce !== "string" || !/^(?:[0-9a-fA-F]{2})+$/.test(input.nonce) || input.nonce.length / 2 > MAX_ATTESTATION_FIELD) {
      return sendJson(res, 400, { error: `nonce must be 1..${MAX_ATTESTATION_FIELD} bytes of hex` });
    }
    if (input.userData !== undefined && (typeof input.userData !== "string" || Buffer.from(input.userData, "base64").length > MAX_ATTESTATION_FIELD)) {
      return sendJson(res, 400, { error: `userData must be base64 of at most ${MAX_ATTESTATION_FIELD} bytes` });
    }
    if (input.publicKey !== undefined && (typeof input.publicKey !== "string" || !input.publicKey.includes("-----BEGIN PUBLIC KEY-----"))) {
      return sendJson(res, 400, { error: "publicKey must be a PEM SubjectPublicKeyInfo" });
    }
    const odynBody: Record<string, string> = { nonce: Buffer.from(input.nonce, "hex").toString("base64") };
    if (typeof input.userData === "string") odynBody.user_data = Buffer.from(input.userData, "base64").toString("base64");
    if (typeof input.publicKey === "string") odynBody.public_key = input.publicKey;
    let upstream;
    try {
      upstream = await httpRequest(`${cfg.odynApiUrl.replace(/\/+$/, "")}/v1/attestation`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(odynBody),
        timeoutMs: 5000,
      });
    } catch (err) {
      return sendJson(res, 502, { error: `Odyn unreachable: ${(err as Error).message}` });
    }
    if (upstream.status !== 200) return sendJson(res, 502, { error: `Odyn answered ${upstream.status}`, detail: upstream.body.toString("utf8").slice(0, 500) });
    // The document goes back byte for byte: any re-encoding would break its COSE signature.
    res.writeHead(200, { "content-type": "application/cbor", "content-length": upstream.body.length, "cache-control": "no-store" });
    res.end(upstream.body);
  }

  async function handleControl(action: string, res: http.ServerResponse): Promise<void> {
    switch (action) {
      case "reload-keys": {
        const result = await attempt();
        if (result.ok) return sendJson(res, 200, { ok: true, keystoreVersion: result.keystoreVersion, health: health() });
        return sendJson(res, 409, { ok: false, phase: result.phase, detail: result.detail, health: health() });
      }
      case "restart-acra": {
        if (keys.phase !== "loaded") return sendJson(res, 409, { ok: false, detail: `no key loaded (${keys.phase})` });
        await acra.restart();
        return sendJson(res, 200, { ok: true, health: health() });
      }
      case "crash": {
        if (!cfg.labControls || !hooks.onCrash) return sendJson(res, 404, { error: "unknown control action" });
        sendJson(res, 202, { ok: true });
        setImmediate(() => hooks.onCrash?.());
        return;
      }
      default:
        return sendJson(res, 404, { error: "unknown control action" });
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://supervisor");
    const route = async () => {
      if (url.pathname === "/v1/health") {
        if (req.method !== "GET") return sendText(res, 405, "method not allowed");
        return sendJson(res, 200, health());
      }
      if (url.pathname === "/v1/attestation") {
        if (req.method !== "POST") return sendText(res, 405, "method not allowed");
        return handleAttestation(req, res);
      }
      if (url.pathname.startsWith("/v1/control/")) {
        const auth = req.headers.authorization ?? "";
        const presented = auth.startsWith("Bearer ") ? auth.slice(7) : "";
        if (!tokenMatches(presented, cfg.controlToken)) {
          log("control-refused", { path: url.pathname, remote: req.socket.remoteAddress ?? null });
          res.setHeader("www-authenticate", 'Bearer realm="enclave-supervisor"');
          return sendJson(res, 401, { error: "unauthorized" });
        }
        if (req.method !== "POST") return sendText(res, 405, "method not allowed");
        const action = url.pathname.slice("/v1/control/".length);
        log("control", { action });
        return handleControl(action, res);
      }
      return sendText(res, 404, "not found");
    };
    route().catch((err: Error) => {
      log("request-failed", { path: url.pathname, error: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });

  const running: RunningServer = await listen(server, cfg.port, cfg.listenHost);
  log("supervisor-listening", { port: running.port });
  scheduleBootLoop(0);

  return {
    port: running.port,
    url: running.url,
    health,
    reloadKeys: attempt,
    killNow: () => acra.killNow(),
    async close() {
      closed = true;
      if (keyTimer) clearTimeout(keyTimer);
      await Promise.all([acra.stop(), running.close()]);
      kms.destroy();
      if (keysDir && !cfg.acra.keysDir) await fs.rm(keysDir, { recursive: true, force: true });
    },
  };
}

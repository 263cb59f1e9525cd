/**
 * The agent's HTTPS server (mutual TLS: only clients whose certificate chains to the console CA get in) and the
 * plain-HTTP key blob service for the enclave's supervisor. `startAgent` wires config -> backend -> core -> servers.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import {
  NDJSON_MEDIA_TYPE,
  SSE_MEDIA_TYPE,
  CBOR_MEDIA_TYPE,
  attestationRequestSchema,
  isTerminalStatus,
  keyBlobNameSchema,
  operationRequestSchema,
  type AgentEvent,
  type Operation,
} from "@/lib/fleet/agent-protocol";
import { AgentCore } from "./agent-core";
import { BackendError, type NitroBackend } from "./backend";
import { RealNitroCliBackend } from "./backend-real";
import { SimulatedNitroBackend } from "./backend-simulated";
import { certSha256, ensureLabAgentCerts } from "./certs";
import type { AgentConfig, LogSinkConfig } from "./config";
import { IdempotencyConflictError } from "./operation-store";
import { SocatVsockConnector, SupervisorLinkError } from "./supervisor-link";

export const AGENT_VERSION = "0.1.0";

export type LogLineSink = (enclaveId: string, line: string) => void;

export interface StartAgentOptions {
  /** Receives each relayed enclave log line (already prefixed like Enclaver). Overrides config.backend.logSink. */
  onLogLine?: LogLineSink;
  /** Use this backend instead of building one from config.backend (tests). */
  backend?: NitroBackend;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface RunningAgent {
  url: string;
  /** SHA-256 of the agent certificate's DER (hex): what the console pins. */
  certSha256: string;
  /** Base URL of the key blob service (the supervisor's hostKeyStoreUrl). */
  keyStoreUrl: string;
  core: AgentCore;
  close(opts?: { terminateEnclaves?: boolean }): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 32 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, "bad-request", "request body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function readJson<T>(req: http.IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const body = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "bad-request", "body is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    throw new HttpError(400, "bad-request", msg);
  }
  return parsed.data;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.length, "Cache-Control": "no-store" });
  res.end(data);
}

function sendError(res: http.ServerResponse, e: unknown): void {
  let status = 500;
  let code = "internal";
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof HttpError) ({ status, code } = e);
  else if (e instanceof IdempotencyConflictError) [status, code] = [409, "idempotency-conflict"];
  else if (e instanceof BackendError) {
    code = e.code;
    status = { "not-found": 404, "bad-request": 400, "backend-timeout": 504, "backend-error": 502 }[e.code];
  } else if (e instanceof SupervisorLinkError) {
    code = e.code;
    status = e.code === "backend-timeout" ? 504 : 502;
  } else message = "internal error";
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: { code, message } });
}

/** A stream of JSON records as NDJSON (default) or SSE, with heartbeats so idle connections stay observable. */
function openStream(req: http.IncomingMessage, res: http.ServerResponse, heartbeatMs: number) {
  const sse = (req.headers.accept ?? "").includes(SSE_MEDIA_TYPE);
  res.writeHead(200, {
    "Content-Type": sse ? SSE_MEDIA_TYPE : NDJSON_MEDIA_TYPE,
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  const hb = setInterval(() => res.write(sse ? ": heartbeat\n\n" : "\n"), heartbeatMs);
  const cleanups: (() => void)[] = [() => clearInterval(hb)];
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    for (const c of cleanups) c();
    res.end();
  };
  req.on("close", end);
  return {
    send(record: { id?: number | string; type?: string }, body: unknown) {
      if (ended) return;
      if (sse) {
        const lines = [`data: ${JSON.stringify(body)}`];
        if (record.type) lines.unshift(`event: ${record.type}`);
        if (record.id !== undefined) lines.unshift(`id: ${record.id}`);
        res.write(lines.join("\n") + "\n\n");
      } else res.write(JSON.stringify(body) + "\n");
    },
    onEnd(fn: () => void) {
      cleanups.push(fn);
    },
    end,
  };
}

function route(core: AgentCore, heartbeatMs: number) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? "/", "https://agent");
      const p = url.pathname;
      const m = req.method ?? "GET";
      let match: RegExpExecArray | null;
      if (m === "GET" && p === "/v1/host") return sendJson(res, 200, await core.hostFacts());
      if (m === "GET" && p === "/v1/enclaves") {
        return sendJson(res, 200, { enclaves: await core.listEnclaves(), observedAt: new Date().toISOString() });
      }
      if (m === "POST" && (match = /^\/v1\/enclaves\/([^/]+)\/attestation$/.exec(p))) {
        const body = await readJson(req, attestationRequestSchema);
        const doc = await core.attest(decodeURIComponent(match[1]!), body.nonce);
        res.writeHead(200, { "Content-Type": CBOR_MEDIA_TYPE, "Content-Length": doc.length, "Cache-Control": "no-store" });
        res.end(doc);
        return;
      }
      if (m === "POST" && p === "/v1/operations") {
        const request = await readJson(req, operationRequestSchema);
        const { operation, created } = core.submit(request);
        return sendJson(res, created ? 201 : 200, { operation, created });
      }
      if (m === "GET" && (match = /^\/v1\/operations\/([^/]+)$/.exec(p))) {
        const op = core.operations.get(decodeURIComponent(match[1]!));
        if (!op) throw new HttpError(404, "not-found", "no such operation");
        return sendJson(res, 200, op);
      }
      if (m === "GET" && (match = /^\/v1\/operations\/([^/]+)\/stream$/.exec(p))) {
        const id = decodeURIComponent(match[1]!);
        const op = core.operations.get(id);
        if (!op) throw new HttpError(404, "not-found", "no such operation");
        const stream = openStream(req, res, heartbeatMs);
        const push = (o: Operation) => {
          stream.send({ type: "operation" }, o);
          if (isTerminalStatus(o.status)) stream.end();
        };
        stream.onEnd(core.operations.subscribe(id, push));
        push(structuredClone(op));
        return;
      }
      if (m === "GET" && p === "/v1/events") {
        const raw = url.searchParams.get("since") ?? req.headers["last-event-id"];
        const since = raw === undefined || raw === null ? core.events.lastId : Number(raw);
        if (!Number.isInteger(since) || since < 0) throw new HttpError(400, "bad-request", "since must be a non-negative integer");
        const stream = openStream(req, res, heartbeatMs);
        const send = (e: AgentEvent) => stream.send({ id: e.id, type: e.type }, e);
        // Subscribe first, then replay, and drop duplicates: no event can fall between the two.
        let replayedUpTo = since;
        const buffered: AgentEvent[] = [];
        let replaying = true;
        stream.onEnd(
          core.events.subscribe((e) => {
            if (replaying) buffered.push(e);
            else if (e.id > replayedUpTo) send(e);
          }),
        );
        const backlog = core.events.since(since);
        if (backlog.lost) {
          stream.send({ type: "events-lost" }, {
            // Resuming from this id replays from the oldest event still held (lost implies oldest >= 2).
            id: Math.max(1, backlog.oldestAvailableId - 1),
            at: new Date().toISOString(),
            type: "events-lost",
            oldestAvailableId: backlog.oldestAvailableId,
          });
        }
        for (const e of backlog.events) {
          send(e);
          replayedUpTo = e.id;
        }
        replaying = false;
        for (const e of buffered) if (e.id > replayedUpTo) send(e);
        return;
      }
      throw new HttpError(404, "not-found", `no route ${m} ${p}`);
    } catch (e) {
      sendError(res, e);
    }
  };
}

/** GET <base>/master-key and <base>/keystore -> {ciphertextBase64, version}; 404 when never delivered. */
function keyStoreHandler(core: AgentCore) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const m = /^\/keys\/([a-z-]+)$/.exec(new URL(req.url ?? "/", "http://agent").pathname);
      const name = keyBlobNameSchema.safeParse(m?.[1]);
      if (req.method !== "GET" || !name.success) throw new HttpError(404, "not-found", "no such key blob");
      const blob = await core.keyStore.get(name.data);
      if (!blob) throw new HttpError(404, "not-found", `no ${name.data} delivered yet`);
      sendJson(res, 200, { ciphertextBase64: blob.ciphertext.toString("base64"), version: blob.version });
    } catch (e) {
      sendError(res, e);
    }
  };
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

async function loadLogSink(cfg: LogSinkConfig | undefined): Promise<LogLineSink | undefined> {
  if (!cfg) return undefined;
  if (cfg.kind === "file") {
    fs.mkdirSync(path.dirname(cfg.path), { recursive: true });
    return (enclaveId, line) => fs.appendFileSync(cfg.path, `${enclaveId}\t${line}\n`);
  }
  const mod = (await import(pathToFileURL(cfg.module).href)) as Record<string, unknown>;
  const factory = mod[cfg.export];
  if (typeof factory !== "function") throw new Error(`${cfg.module} does not export a function ${cfg.export}`);
  const sink = await (factory as (o: unknown) => unknown)(cfg.options);
  if (typeof sink !== "function") throw new Error(`${cfg.module}#${cfg.export} did not return a (enclaveId, line) function`);
  return sink as LogLineSink;
}

async function buildBackend(config: AgentConfig, keyStoreUrl: string, onLogLine: LogLineSink | undefined): Promise<NitroBackend> {
  const b = config.backend;
  if (b.kind === "simulator") {
    return SimulatedNitroBackend.open({
      stateDir: path.join(config.dataDir, "simulator"),
      parentInstanceId: config.host.instanceId,
      roleArn: config.host.roleArn,
      region: config.host.region,
      labCaDir: b.labCaDir,
      aws: b.aws,
      kmsKeyId: b.kmsKeyId,
      hostKeyStoreUrl: keyStoreUrl,
      acra: b.acra,
      allocator: b.allocator,
      enclaveCommand: b.enclaveCommand,
      eifDirs: b.eifDirs,
      bootTimeoutMs: b.bootTimeoutMs,
      onLogLine,
    });
  }
  const controlToken = b.controlTokenFile ? fs.readFileSync(b.controlTokenFile, "utf8").trim() : undefined;
  return new RealNitroCliBackend({
    nitroCliPath: b.nitroCliPath,
    allocatorYamlPath: b.allocatorYamlPath,
    eifDirs: b.eifDirs,
    timeouts: b.timeoutsMs,
    supervisor: b.supervisor.kind === "vsock" ? { kind: "vsock", port: b.supervisor.port } : b.supervisor,
    vsockConnector: b.supervisor.kind === "vsock" ? new SocatVsockConnector(b.supervisor.socatPath) : undefined,
    controlToken,
    supervisorTimeoutMs: b.supervisorTimeoutMs,
    acra: b.acra,
  });
}

export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  let tls: { cert: string; key: string; ca: string };
  if ("labCertsDir" in config.tls) {
    const c = await ensureLabAgentCerts(config.tls.labCertsDir, config.hostId);
    tls = { cert: c.agent.certPem, key: c.agent.keyPem, ca: c.consoleCaPem };
  } else {
    tls = {
      cert: fs.readFileSync(config.tls.certFile, "utf8"),
      key: fs.readFileSync(config.tls.keyFile, "utf8"),
      ca: fs.readFileSync(config.tls.clientCaFile, "utf8"),
    };
  }

  // The key blob service comes first: the simulator writes its URL into each enclave's config.
  let core: AgentCore | null = null;
  const keyServer = http.createServer((req, res) => {
    if (!core) return sendJson(res, 503, { error: { code: "internal", message: "starting" } });
    void keyStoreHandler(core)(req, res);
  });
  const keyAddr = await listen(keyServer, config.keyStoreListen.host, config.keyStoreListen.port);
  const keyStoreUrl = `http://${keyAddr.address}:${keyAddr.port}/keys`;

  // A sink loaded from config may expose close() (e.g. to flush a CloudWatch shipper); a caller's sink is theirs.
  const configSink = options.onLogLine || config.backend.kind !== "simulator" ? undefined : await loadLogSink(config.backend.logSink);
  const backend = options.backend ?? (await buildBackend(config, keyStoreUrl, options.onLogLine ?? configSink));
  core = await AgentCore.create({
    backend,
    host: config.host,
    dataDir: config.dataDir,
    agentVersion: AGENT_VERSION,
    pollIntervalMs: config.pollIntervalMs,
    probeTimeoutMs: config.probeTimeoutMs,
    waitHealthyTimeoutMs: config.waitHealthyTimeoutMs,
    log: options.log,
  });
  const handler = route(core, config.streamHeartbeatMs);
  const server = https.createServer(
    {
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
    },
    (req, res) => void handler(req, res),
  );
  const addr = await listen(server, config.listen.host, config.listen.port);
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const running: RunningAgent = {
    url: `https://${host}:${addr.port}`,
    certSha256: certSha256(tls.cert),
    keyStoreUrl,
    core,
    async close(opts) {
      server.closeAllConnections();
      keyServer.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => keyServer.close(r))]);
      await core!.close({ terminateEnclaves: opts?.terminateEnclaves ?? config.terminateEnclavesOnShutdown });
      const closable = configSink as (LogLineSink & { close?: () => Promise<void> }) | undefined;
      await closable?.close?.();
    },
  };
  return running;
}

/**
 * The console's client for a host agent: mutual TLS with the console's client certificate, and the agent's
 * certificate PINNED by SHA-256 of its DER. A different certificate is refused even if it chains to a trusted CA
 * (a stolen CA key or a mis-issued certificate must not let anyone impersonate an agent).
 *
 * Every call has a connect timeout and a total timeout; streams have an idle timeout (the agent sends heartbeats).
 * Every answer is validated against the protocol schemas: an agent that answers nonsense yields
 * AgentProtocolError, never a half-typed object. Not "server-only" so the worker and CLI (tsx) can import it.
 */
import crypto from "node:crypto";
import type http from "node:http";
import https from "node:https";
import type { PeerCertificate, TLSSocket } from "node:tls";
import type { z } from "zod";
import {
  CBOR_MEDIA_TYPE,
  NDJSON_MEDIA_TYPE,
  agentErrorBodySchema,
  agentEventSchema,
  agentPaths,
  enclaveListSchema,
  hostFactsSchema,
  isTerminalStatus,
  operationResponseSchema,
  operationSchema,
  type AgentEvent,
  type EnclaveList,
  type HostFacts,
  type Operation,
  type OperationRequest,
  type OperationResponse,
} from "./agent-protocol";

export class AgentClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** Nothing answered at the network level (refused, reset, no route, DNS). */
export class AgentUnreachableError extends AgentClientError {}
/** Connected too slowly, or the whole call (or a stream's idle gap) took too long. */
export class AgentTimeoutError extends AgentClientError {}
/** The agent's certificate is not the pinned one. */
export class AgentCertificateMismatchError extends AgentClientError {
  constructor(
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super("certificate-mismatch", `agent certificate SHA-256 ${actualSha256} is not the pinned ${expectedSha256}`);
  }
}
/** The TLS handshake failed for another reason (untrusted chain, our client certificate refused, protocol). */
export class AgentTlsError extends AgentClientError {}
/** The agent answered, but not with what the protocol says (bad JSON, wrong shape, wrong media type). */
export class AgentProtocolError extends AgentClientError {
  constructor(
    message: string,
    readonly issues?: string[],
  ) {
    super("protocol", message);
  }
}
/** The agent answered with a well-formed error (4xx/5xx). */
export class AgentHttpError extends AgentClientError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, `agent answered ${status} ${code}: ${message}`);
  }
}
/** Same idempotency key, different request body (409). */
export class AgentConflictError extends AgentHttpError {}

export interface AgentClientOptions {
  /** https://host:port of the agent. */
  url: string;
  /** Hex SHA-256 of the agent certificate's DER (colons and case ignored). */
  certSha256: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** CA(s) the agent certificate must also chain to. Without it only the pin is checked (self-signed agents). */
  caPem?: string | string[];
  connectTimeoutMs?: number;
  timeoutMs?: number;
  streamIdleTimeoutMs?: number;
  maxResponseBytes?: number;
}

const TLS_CODES = /^(ERR_SSL|ERR_TLS|UNABLE_TO|CERT_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|EPROTO)/;
const NET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "ECONNABORTED"]);

export function normaliseSha256(hex: string): string {
  return hex.replace(/:/g, "").toLowerCase();
}

function mapError(e: unknown, url: string): AgentClientError {
  if (e instanceof AgentClientError) return e;
  const err = e as NodeJS.ErrnoException & { reason?: string };
  const code = err?.code ?? "";
  const msg = `${url}: ${err?.message ?? String(e)}`;
  if (TLS_CODES.test(code) || /ssl|tls|certificate|alert/i.test(err?.message ?? "")) return new AgentTlsError("tls", msg, { cause: e });
  // Refused, reset, no route, DNS, and anything else below HTTP: the agent cannot be talked to.
  return new AgentUnreachableError(NET_CODES.has(code) ? code.toLowerCase() : "unreachable", msg, { cause: e });
}

export class AgentClient {
  private readonly base: URL;
  private readonly pin: string;
  private readonly connectTimeoutMs: number;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: AgentClientOptions) {
    this.base = new URL(opts.url);
    if (this.base.protocol !== "https:") throw new Error("agent URL must be https://");
    this.pin = normaliseSha256(opts.certSha256);
    if (!/^[0-9a-f]{64}$/.test(this.pin)) throw new Error("certSha256 must be 64 hex characters");
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.idleTimeoutMs = opts.streamIdleTimeoutMs ?? 30_000;
    this.maxBytes = opts.maxResponseBytes ?? 8 * 1024 * 1024;
  }

  private pinError(cert: PeerCertificate | undefined): AgentCertificateMismatchError | undefined {
    const actual = cert?.raw ? crypto.createHash("sha256").update(cert.raw).digest("hex") : "(none)";
    return actual === this.pin ? undefined : new AgentCertificateMismatchError(this.pin, actual);
  }

  /**
   * Sends one request and resolves with the response once its headers arrive. Nothing (not even the request
   * line) is written before the peer certificate has been checked against the pin.
   */
  private open(
    method: "GET" | "POST",
    path: string,
    body: Buffer | undefined,
    accept: string,
    onDeadline: (destroy: (e: Error) => void) => void,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        protocol: "https:",
        hostname: this.base.hostname.replace(/^\[|\]$/g, ""),
        port: this.base.port || 443,
        path,
        method,
        agent: false,
        cert: this.opts.clientCertPem,
        key: this.opts.clientKeyPem,
        ca: this.opts.caPem,
        // With a CA configured the chain must verify too; the pin is checked in every case.
        rejectUnauthorized: this.opts.caPem !== undefined,
        checkServerIdentity: (_host, cert) => this.pinError(cert),
        headers: {
          Accept: accept,
          ...(body ? { "Content-Type": "application/json", "Content-Length": body.length } : {}),
        },
      });
      let settled = false;
      let handshakeDone = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        const mapped = mapError(e, this.opts.url);
        // TLS 1.3: the server checks our certificate after the client's handshake is complete, so a refused
        // client certificate shows up as a reset right after the handshake, before any HTTP answer.
        if (handshakeDone && mapped instanceof AgentUnreachableError) {
          reject(new AgentTlsError("client-certificate-refused", `${this.opts.url}: the agent closed the connection right after the TLS handshake (our client certificate was probably refused)`, { cause: e }));
          return;
        }
        reject(mapped);
      };
      const connectTimer = setTimeout(
        () => req.destroy(new AgentTimeoutError("connect-timeout", `${this.opts.url}: no TLS connection within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      onDeadline((e) => req.destroy(e));
      req.on("error", fail);
      req.on("socket", (socket) => {
        (socket as TLSSocket).once("secureConnect", () => {
          clearTimeout(connectTimer);
          handshakeDone = true;
          const mismatch = this.pinError((socket as TLSSocket).getPeerCertificate(false));
          if (mismatch) {
            req.destroy(mismatch);
            return;
          }
          req.end(body);
        });
      });
      req.on("response", (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        res.on("error", () => undefined);
        resolve(res);
      });
    });
  }

  /** Full request: body read within the total timeout and the size limit. */
  private async exchange(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    accept = "application/json",
  ): Promise<{ status: number; contentType: string; body: Buffer }> {
    let timer: NodeJS.Timeout | undefined;
    let destroyer: ((e: Error) => void) | undefined;
    const timeoutError = () => new AgentTimeoutError("timeout", `${this.opts.url}${path}: no complete answer within ${this.timeoutMs} ms`);
    try {
      const res = await this.open(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), accept, (d) => {
        destroyer = d;
        timer = setTimeout(() => destroyer?.(timeoutError()), this.timeoutMs);
      });
      destroyer = (e) => res.destroy(e);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxBytes) {
          res.destroy();
          throw new AgentProtocolError(`answer larger than ${this.maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
      return { status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks) };
    } catch (e) {
      throw mapError(e, this.opts.url);
    } finally {
      clearTimeout(timer);
    }
  }

  private httpError(status: number, body: Buffer): AgentClientError {
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      return new AgentProtocolError(`agent answered ${status} with a body that is not JSON`);
    }
    const parsed = agentErrorBodySchema.safeParse(json);
    if (!parsed.success) return new AgentProtocolError(`agent answered ${status} with an unexpected error shape`);
    const { code, message } = parsed.data.error;
    return status === 409 ? new AgentConflictError(status, code, message) : new AgentHttpError(status, code, message);
  }

  private parse<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new AgentProtocolError(`${what}: answer is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 25).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
      throw new AgentProtocolError(`${what}: answer does not match the protocol (${issues[0] ?? "?"})`, issues);
    }
    return parsed.data;
  }

  private async json<T>(method: "GET" | "POST", path: string, body: unknown, schema: z.ZodType<T>, what: string): Promise<{ status: number; value: T }> {
    const r = await this.exchange(method, path, body);
    if (r.status < 200 || r.status >= 300) throw this.httpError(r.status, r.body);
    return { status: r.status, value: this.parse(schema, r.body, what) };
  }

  async getHost(): Promise<HostFacts> {
    return (await this.json("GET", agentPaths.host, undefined, hostFactsSchema, "host facts")).value;
  }

  async listEnclaves(): Promise<EnclaveList> {
    return (await this.json("GET", agentPaths.enclaves, undefined, enclaveListSchema, "enclave list")).value;
  }

  /** The raw attestation document (COSE_Sign1 CBOR) exactly as the enclave produced it; verify it yourself. */
  async attest(enclaveId: string, nonceHex: string): Promise<Uint8Array> {
    const r = await this.exchange("POST", agentPaths.attestation(enclaveId), { nonce: nonceHex }, CBOR_MEDIA_TYPE);
    if (r.status !== 200) throw this.httpError(r.status, r.body);
    if (!r.contentType.startsWith(CBOR_MEDIA_TYPE)) throw new AgentProtocolError(`attestation answer is ${r.contentType || "untyped"}, not ${CBOR_MEDIA_TYPE}`);
    if (r.body.length === 0) throw new AgentProtocolError("attestation answer is empty");
    return new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.length);
  }

  /** Creates an operation, or returns the existing one for the same idempotency key and body (created=false). */
  async startOperation(request: OperationRequest): Promise<OperationResponse> {
    return (await this.json("POST", agentPaths.operations, request, operationResponseSchema, "operation")).value;
  }

  async getOperation(id: string): Promise<Operation> {
    return (await this.json("GET", agentPaths.operation(id), undefined, operationSchema, "operation")).value;
  }

  /** NDJSON records parsed with `schema`; throws AgentTimeoutError when nothing (not even a heartbeat) arrives for the idle timeout. */
  private async *ndjson<T>(path: string, schema: z.ZodType<T>, what: string, signal?: AbortSignal): AsyncGenerator<T> {
    let res: http.IncomingMessage;
    let connectDeadline: NodeJS.Timeout | undefined;
    try {
      res = await this.open("GET", path, undefined, NDJSON_MEDIA_TYPE, (destroy) => {
        connectDeadline = setTimeout(
          () => destroy(new AgentTimeoutError("timeout", `${this.opts.url}${path}: no answer within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
    } catch (e) {
      throw mapError(e, this.opts.url);
    } finally {
      clearTimeout(connectDeadline);
    }
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      throw this.httpError(res.statusCode ?? 0, Buffer.concat(chunks));
    }
    if (!String(res.headers["content-type"] ?? "").startsWith(NDJSON_MEDIA_TYPE)) {
      res.destroy();
      throw new AgentProtocolError(`${what}: stream is ${res.headers["content-type"]}, not NDJSON`);
    }
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => res.destroy(new AgentTimeoutError("stream-idle", `${this.opts.url}${path}: nothing received for ${this.idleTimeoutMs} ms`)),
        this.idleTimeoutMs,
      );
    };
    const onAbort = () => res.destroy();
    signal?.addEventListener("abort", onAbort, { once: true });
    arm();
    let buffered = "";
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        arm();
        buffered += chunk.toString("utf8");
        if (buffered.length > this.maxBytes) throw new AgentProtocolError(`${what}: line longer than ${this.maxBytes} bytes`);
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) yield this.parse(schema, Buffer.from(line), what);
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw mapError(e, this.opts.url);
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", onAbort);
      res.destroy();
    }
  }

  /** Snapshots of the operation as it progresses; ends after the terminal (succeeded/failed) snapshot. */
  async *streamOperation(id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Operation> {
    for await (const op of this.ndjson(agentPaths.operationStream(id), operationSchema, "operation stream", opts.signal)) {
      yield op;
      if (isTerminalStatus(op.status)) return;
    }
  }

  /**
   * State-change events after `since` (store the last id you processed and pass it back to resume without gaps).
   * Without `since`, only events from now on. An `events-lost` event means the agent no longer had some of them.
   */
  streamEvents(opts: { since?: number; signal?: AbortSignal } = {}): AsyncGenerator<AgentEvent> {
    return this.ndjson(agentPaths.events(opts.since), agentEventSchema, "event stream", opts.signal);
  }
}

export function createAgentClient(opts: AgentClientOptions): AgentClient {
  return new AgentClient(opts);
}

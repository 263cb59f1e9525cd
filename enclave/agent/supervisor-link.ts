/**
 * Talking to the in-enclave supervisor. On a Nitro host the only way in is vsock (CID + port); Node has no vsock
 * sockets, so the real connector spawns `socat - VSOCK-CONNECT:<cid>:<port>` and speaks HTTP/1.1 over its
 * stdin/stdout. Behind Enclaver the supervisor's ingress is published as a host TCP port instead, and in the lab it
 * is a plain TCP port. One minimal HTTP/1.1 client over any byte stream serves all three, so the lab exercises
 * exactly the request/response code the real host runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { Duplex } from "node:stream";
import { z } from "zod";

/** Opens a fresh byte stream to the supervisor for one request. */
export type StreamConnector = () => Duplex;

export interface VsockConnector {
  connect(cid: number, port: number): Duplex;
}

/** Wraps a child process's stdin/stdout as one Duplex; destroying it kills the child. */
class ChildProcessDuplex extends Duplex {
  constructor(private readonly child: ChildProcess) {
    super();
    child.stdout?.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout?.pause();
    });
    child.stdout?.on("end", () => this.push(null));
    child.on("error", (e) => this.destroy(e));
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) this.destroy(new Error(`socat exited with ${code}`));
    });
    child.stdin?.on("error", (e) => this.destroy(e));
  }
  override _read(): void {
    this.child.stdout?.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.child.stdin) return cb(new Error("socat stdin closed"));
    this.child.stdin.write(chunk, cb);
  }
  override _final(cb: (e?: Error | null) => void): void {
    // Half-close only: socat keeps the vsock open for the reply until the peer closes.
    cb();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    cb(err);
  }
}

/**
 * vsock through socat (`apt install socat`, needs a socat built with VSOCK support, >= 1.7.4). Arguments are an
 * array, never a shell string: `socat - VSOCK-CONNECT:<cid>:<port>`.
 */
export class SocatVsockConnector implements VsockConnector {
  constructor(private readonly socatPath = "socat") {}
  connect(cid: number, port: number): Duplex {
    if (!Number.isInteger(cid) || cid < 0 || !Number.isInteger(port) || port < 1 || port > 0xffffffff) {
      throw new Error(`invalid vsock address ${cid}:${port}`);
    }
    const child = spawn(this.socatPath, ["-", `VSOCK-CONNECT:${cid}:${port}`], {
      shell: false,
      stdio: ["pipe", "pipe", "ignore"],
    });
    return new ChildProcessDuplex(child);
  }
}

export function tcpConnector(host: string, port: number): StreamConnector {
  return () => net.connect({ host, port });
}

export class SupervisorLinkError extends Error {
  constructor(
    readonly code: "enclave-unreachable" | "backend-timeout" | "backend-error",
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "SupervisorLinkError";
  }
}

export interface HttpExchangeResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Parses a complete HTTP/1.1 response (the connection is `Connection: close`). Returns null while more bytes are
 * needed; `ended` says the peer closed, which completes a body without Content-Length.
 */
export function parseHttpResponse(buf: Buffer, ended: boolean): HttpExchangeResult | null {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    if (ended) throw new Error("connection closed before the response headers");
    return null;
  }
  const lines = buf.subarray(0, headEnd).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!m?.[1]) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = buf.subarray(headEnd + 4);
  const status = Number(m[1]);
  if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
    const chunks: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const lineEnd = rest.indexOf("\r\n", pos);
      if (lineEnd < 0) break;
      const size = parseInt(rest.subarray(pos, lineEnd).toString("latin1").split(";")[0] ?? "", 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size");
      if (size === 0) return { status, headers, body: Buffer.concat(chunks) };
      if (rest.length < lineEnd + 2 + size + 2) break;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
    if (ended) throw new Error("connection closed inside a chunked body");
    return null;
  }
  const cl = headers["content-length"];
  if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) throw new Error("bad Content-Length");
    if (rest.length >= n) return { status, headers, body: Buffer.from(rest.subarray(0, n)) };
    if (ended) throw new Error("connection closed before the whole body");
    return null;
  }
  return ended ? { status, headers, body: Buffer.from(rest) } : null;
}

export interface ExchangeRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export function httpExchange(
  connect: StreamConnector,
  req: ExchangeRequest,
  opts: { timeoutMs: number; maxBytes?: number },
): Promise<HttpExchangeResult> {
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    let stream: Duplex;
    try {
      stream = connect();
    } catch (e) {
      reject(new SupervisorLinkError("enclave-unreachable", (e as Error).message));
      return;
    }
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null, result?: HttpExchangeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      if (err) reject(err);
      else resolve(result as HttpExchangeResult);
    };
    const timer = setTimeout(
      () => finish(new SupervisorLinkError("backend-timeout", `supervisor did not answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    const tryParse = (ended: boolean) => {
      try {
        const r = parseHttpResponse(Buffer.concat(chunks), ended);
        if (r) finish(null, r);
      } catch (e) {
        finish(new SupervisorLinkError("backend-error", `supervisor answered badly: ${(e as Error).message}`));
      }
    };
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        finish(new SupervisorLinkError("backend-error", `supervisor response larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
      tryParse(false);
    });
    stream.on("end", () => tryParse(true));
    stream.on("error", (e) =>
      finish(new SupervisorLinkError("enclave-unreachable", `cannot reach the supervisor: ${e.message}`)),
    );
    stream.on("close", () => {
      if (!settled) tryParse(true);
    });
    const body = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
    const head = [
      `${req.method} ${req.path} HTTP/1.1`,
      "Host: supervisor",
      "Connection: close",
      ...Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      ...(body ? [`Content-Length: ${body.length}`] : req.method === "POST" ? ["Content-Length: 0"] : []),
      "",
      "",
    ].join("\r\n");
    stream.write(body ? Buffer.concat([Buffer.from(head, "latin1"), body]) : Buffer.from(head, "latin1"));
  });
}

/** GET /v1/health on the supervisor (lab contract). Lenient on extra fields, strict on the ones we use. */
export const supervisorHealthSchema = z.object({
  supervisor: z.string(),
  acra: z.object({
    state: z.enum(["up", "down", "starting"]),
    pid: z.number().int().nullable().optional(),
    restarts: z.number().int().nonnegative().default(0),
    lastLogAt: z.string().nullable().optional(),
  }),
  keystoreVersion: z.number().int().nonnegative().nullable().optional(),
});
export type SupervisorHealth = z.infer<typeof supervisorHealthSchema>;

export class SupervisorClient {
  constructor(
    private readonly connect: StreamConnector,
    private readonly controlToken: string | undefined,
    private readonly timeoutMs = 5000,
  ) {}

  /** The raw COSE_Sign1 bytes as the supervisor returned them; never decoded or re-encoded here. */
  async attest(nonceHex: string): Promise<Buffer> {
    const r = await httpExchange(
      this.connect,
      {
        method: "POST",
        path: "/v1/attestation",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ nonce: nonceHex }),
      },
      { timeoutMs: this.timeoutMs },
    );
    if (r.status !== 200) {
      throw new SupervisorLinkError("backend-error", `supervisor attestation answered ${r.status}`, r.status);
    }
    if (!(r.headers["content-type"] ?? "").startsWith("application/cbor")) {
      throw new SupervisorLinkError("backend-error", `supervisor attestation is ${r.headers["content-type"]}, not CBOR`);
    }
    return r.body;
  }

  async health(): Promise<SupervisorHealth> {
    const r = await httpExchange(this.connect, { method: "GET", path: "/v1/health" }, { timeoutMs: this.timeoutMs });
    if (r.status !== 200) throw new SupervisorLinkError("backend-error", `supervisor health answered ${r.status}`, r.status);
    let json: unknown;
    try {
      json = JSON.parse(r.body.toString("utf8"));
    } catch {
      throw new SupervisorLinkError("backend-error", "supervisor health is not JSON");
    }
    const parsed = supervisorHealthSchema.safeParse(json);
    if (!parsed.success) throw new SupervisorLinkError("backend-error", "supervisor health has an unexpected shape");
    return parsed.data;
  }

  async control(action: "reload-keys" | "restart-acra"): Promise<void> {
    if (!this.controlToken) throw new SupervisorLinkError("backend-error", "no control token configured");
    const r = await httpExchange(
      this.connect,
      {
        method: "POST",
        path: `/v1/control/${action}`,
        headers: { Authorization: `Bearer ${this.controlToken}`, "Content-Type": "application/json" },
        body: "{}",
      },
      { timeoutMs: this.timeoutMs },
    );
    if (r.status < 200 || r.status >= 300) {
      const text = r.body.toString("utf8").slice(0, 200);
      throw new SupervisorLinkError("backend-error", `supervisor ${action} answered ${r.status}: ${text}`, r.status);
    }
  }
}

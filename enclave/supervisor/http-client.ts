import http from "node:http";
import https from "node:https";

/**
 * Small HTTP client on node:http. Two reasons not to use fetch inside the enclave: Node 20's fetch ignores
 * `http_proxy`, and Enclaver's only way out of the enclave is its HTTP egress proxy; and SigV4 needs exact control
 * of the Host header and body bytes.
 */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  /**
   * Plain-HTTP forward proxy (`http://host:port`), e.g. Enclaver's egress proxy. Only `http:` targets go through it
   * (absolute-form request line); the key store relay on the host is plain HTTP carrying ciphertext only.
   */
  proxyUrl?: string;
  /** Refuse bodies larger than this (a misbehaving peer must not exhaust the enclave's memory). */
  maxBodyBytes?: number;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (body) headers["content-length"] = String(body.length);
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  let requestOptions: http.RequestOptions;
  let mod: typeof http | typeof https = target.protocol === "https:" ? https : http;
  if (opts.proxyUrl && target.protocol === "http:") {
    const proxy = new URL(opts.proxyUrl);
    mod = http;
    requestOptions = {
      host: proxy.hostname,
      port: proxy.port || 80,
      path: target.href,
      method: opts.method ?? "GET",
      headers: { host: target.host, ...headers },
    };
  } else {
    requestOptions = {
      host: target.hostname,
      port: target.port || (target.protocol === "https:" ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      method: opts.method ?? "GET",
      headers,
    };
  }

  return new Promise((resolve, reject) => {
    const req = mod.request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          req.destroy(new HttpError(`response from ${target.host} exceeds ${maxBody} bytes`, "EBODYTOOLARGE"));
          return;
        }
        chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new HttpError(`request to ${target.host} timed out after ${timeoutMs} ms`, "ETIMEDOUT")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Reads a request body with a size cap; rejects with a 413-worthy error above it. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new HttpError(`request body exceeds ${maxBytes} bytes`, "EBODYTOOLARGE"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

export function sendText(res: http.ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text);
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": body.length });
  res.end(body);
}

export interface RunningServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens and resolves once bound; `close` also drops keep-alive connections so shutdown is quick. */
export function listen(server: http.Server, port: number, host = "127.0.0.1"): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      const bound = typeof addr === "object" && addr ? addr.port : port;
      resolve({
        port: bound,
        url: `http://${host}:${bound}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

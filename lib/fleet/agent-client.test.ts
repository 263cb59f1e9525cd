/**
 * The console's agent client against agents that misbehave: plain HTTPS servers started here that answer
 * nonsense, never answer, or are not there at all. Every case must end in a typed error, quickly.
 */
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabAgentCerts, type LabAgentCerts } from "@/enclave/agent/certs";
import {
  AgentHttpError,
  AgentProtocolError,
  AgentTimeoutError,
  AgentUnreachableError,
  createAgentClient,
  type AgentClientOptions,
} from "./agent-client";

let tmp: string;
let certs: LabAgentCerts;
let server: https.Server;
let port: number;
const sockets = new Set<net.Socket>();

/** Route table of the misbehaving agent. */
const routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
  "GET /v1/host": (_q, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{ this is not json");
  },
  "GET /v1/enclaves": (_q, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ enclaves: [{ EnclaveID: 5, State: "ON_FIRE" }], observedAt: "yesterday" }));
  },
  "GET /v1/operations/html": (_q, res) => {
    res.writeHead(502, { "Content-Type": "text/html" });
    res.end("<html><body>Bad Gateway</body></html>");
  },
  "GET /v1/operations/missing": (_q, res) => {
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not-found", message: "no such operation" } }));
  },
  "GET /v1/operations/silent": () => {
    // never answers
  },
  "POST /v1/enclaves/e1/attestation": (req, res) => {
    req.resume();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"document":"base64..."}');
  },
  "GET /v1/events": (req, res) => {
    res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    if (req.url?.includes("since=1")) {
      res.write(JSON.stringify({ id: 2, at: new Date().toISOString(), type: "agent-started", agentVersion: "x" }) + "\n");
      res.write('{"id":3,"type":"teleported"}\n');
    }
    // otherwise: headers, then silence (no heartbeats)
    else res.flushHeaders();
  },
};

function client(extra: Partial<AgentClientOptions> = {}) {
  return createAgentClient({
    url: `https://127.0.0.1:${port}`,
    certSha256: certs.agentCertSha256,
    clientCertPem: certs.consoleClient.certPem,
    clientKeyPem: certs.consoleClient.keyPem,
    caPem: certs.agentCaPem,
    connectTimeoutMs: 500,
    timeoutMs: 500,
    streamIdleTimeoutMs: 400,
    ...extra,
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agent-client-"));
  certs = await ensureLabAgentCerts(tmp, "nonsense-host");
  server = https.createServer({ cert: certs.agent.certPem, key: certs.agent.keyPem }, (req, res) => {
    const handler = routes[`${req.method} ${(req.url ?? "").split("?")[0]}`];
    if (handler) handler(req, res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("agent client: an agent answering nonsense", () => {
  it("invalid JSON -> AgentProtocolError", async () => {
    await expect(client().getHost()).rejects.toBeInstanceOf(AgentProtocolError);
  });

  it("JSON of the wrong shape -> AgentProtocolError listing the issues", async () => {
    const err = (await client().listEnclaves().catch((e: unknown) => e)) as AgentProtocolError;
    expect(err).toBeInstanceOf(AgentProtocolError);
    expect(err.issues?.join("\n")).toMatch(/enclaves\.0\./);
    expect(err.issues?.join("\n")).toMatch(/observedAt/);
  });

  it("an HTML error page -> AgentProtocolError; a well-formed error -> AgentHttpError", async () => {
    await expect(client().getOperation("html")).rejects.toBeInstanceOf(AgentProtocolError);
    const err = (await client().getOperation("missing").catch((e: unknown) => e)) as AgentHttpError;
    expect(err).toBeInstanceOf(AgentHttpError);
    expect([err.status, err.code]).toEqual([404, "not-found"]);
  });

  it("an attestation answer that is not CBOR -> AgentProtocolError", async () => {
    await expect(client().attest("e1", "ab".repeat(32))).rejects.toBeInstanceOf(AgentProtocolError);
  });

  it("a stream line of an unknown shape -> AgentProtocolError after the valid ones", async () => {
    const got: number[] = [];
    const err = await (async () => {
      for await (const e of client().streamEvents({ since: 1 })) got.push(e.id);
    })().catch((e: unknown) => e);
    expect(got).toEqual([2]);
    expect(err).toBeInstanceOf(AgentProtocolError);
  });
});

describe("agent client: an agent that is down or silent", () => {
  it("a closed port -> AgentUnreachableError", async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const err = await client({ url: `https://127.0.0.1:${free}` }).getHost().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentUnreachableError);
  });

  it("a server that never answers -> AgentTimeoutError, quickly", async () => {
    const t0 = Date.now();
    await expect(client().getOperation("silent")).rejects.toBeInstanceOf(AgentTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a port that accepts TCP but never speaks TLS -> AgentTimeoutError (connect)", async () => {
    const held: net.Socket[] = [];
    const mute = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    const mutePort = (mute.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const err = (await client({ url: `https://127.0.0.1:${mutePort}` }).getHost().catch((e: unknown) => e)) as AgentTimeoutError;
    expect(err).toBeInstanceOf(AgentTimeoutError);
    expect(err.code).toBe("connect-timeout");
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const s of held) s.destroy();
    await new Promise((r) => mute.close(r));
  });

  it("a stream that goes quiet (no heartbeats) -> AgentTimeoutError after the idle timeout", async () => {
    const err = (await (async () => {
      for await (const _e of client().streamEvents()) {
        // nothing arrives
      }
    })().catch((e: unknown) => e)) as AgentTimeoutError;
    expect(err).toBeInstanceOf(AgentTimeoutError);
    expect(err.code).toBe("stream-idle");
  });
});

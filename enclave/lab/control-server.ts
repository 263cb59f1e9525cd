/**
 * Lab control: a small HTTP server on 127.0.0.1 that the `lab` CLI command talks to (address and bearer token in
 * the lab's state file, readable by the lab's user only). It provokes the situations the console must show and
 * reports the lab as the console sees it.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Db } from "../../lib/db/client";

export const LAB_ACTIONS = [
  "inject-poison",
  "inject-decrypt-failure",
  "inject-censor-block",
  "inject-db-lost",
  "inject-unattested-decrypt",
  "crash-enclave",
  "stop-agent",
  "start-agent",
  "deploy-rogue-image",
] as const;
export type LabAction = (typeof LAB_ACTIONS)[number];

export interface LabStatus {
  console: { url: string };
  aws: { endpoint: string };
  hosts: { id: string; region: string; agent: "up" | "down"; enclaves: { id: string; state: string; attestation: "trusted" | "untrusted" | "stale" | "unknown" }[] }[];
}

export interface LabControlHandlers {
  status(): Promise<LabStatus>;
  act(action: LabAction, hostId: string): Promise<string>;
}

/** The lab as the console sees it: what is in the console's database, not what the simulators know. */
export async function consoleView(db: Db, consoleUrl: string, awsEndpoint: string, labHostIds: string[]): Promise<LabStatus> {
  const hosts = await db.host.findMany({ where: { id: { in: labHostIds } }, include: { enclaves: true }, orderBy: { id: "asc" } });
  const attestation = (state: string) => (["trusted", "untrusted", "stale"].includes(state) ? state : "unknown") as LabStatus["hosts"][number]["enclaves"][number]["attestation"];
  return {
    console: { url: consoleUrl },
    aws: { endpoint: awsEndpoint },
    hosts: hosts.map((host) => ({
      id: host.id,
      region: host.region,
      agent: host.status === "up" ? "up" : "down",
      enclaves: host.enclaves.map((enclave) => ({ id: enclave.id, state: enclave.state, attestation: attestation(enclave.attestationState) })),
    })),
  };
}

export async function startControlServer(handlers: LabControlHandlers): Promise<{ url: string; token: string; close(): Promise<void> }> {
  const token = randomBytes(24).toString("base64url");
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const given = Buffer.from(request.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return send(401, { error: "lab control needs the token from the lab's state file" });
    try {
      const url = new URL(request.url ?? "/", "http://lab");
      if (request.method === "GET" && url.pathname === "/status") return send(200, await handlers.status());
      const match = /^\/actions\/([a-z-]+)$/.exec(url.pathname);
      if (request.method === "POST" && match) {
        const action = match[1] as LabAction;
        if (!LAB_ACTIONS.includes(action)) return send(404, { error: `unknown action ${action}` });
        const hostId = url.searchParams.get("host");
        if (!hostId) return send(400, { error: `${action} needs --host <host id>` });
        return send(200, { message: await handlers.act(action, hostId) });
      }
      return send(404, { error: "not found" });
    } catch (error) {
      return send(409, { error: error instanceof Error ? error.message : String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

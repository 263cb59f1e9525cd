/**
 * How the console reaches a host agent: mutual TLS with the console's client certificate, and the agent's own
 * certificate pinned per host (Host.agentCertSha256). A host without a pinned fingerprint is never contacted:
 * trusting whatever certificate answers would let anyone on the path pose as the agent.
 */
import fs from "node:fs";
import { createAgentClient, type AgentClient } from "./agent-client";

export interface ConsoleClientIdentity {
  certPem: string;
  keyPem: string;
  caPem?: string;
}

let cached: { key: string; identity: ConsoleClientIdentity } | null = null;

/** CONSOLE_AGENT_CLIENT_CERT / CONSOLE_AGENT_CLIENT_KEY (PEM files), optionally CONSOLE_AGENT_CA. */
export function consoleClientIdentity(env: Record<string, string | undefined> = process.env): ConsoleClientIdentity | null {
  const certFile = env.CONSOLE_AGENT_CLIENT_CERT;
  const keyFile = env.CONSOLE_AGENT_CLIENT_KEY;
  if (!certFile || !keyFile) return null;
  const key = `${certFile}\n${keyFile}\n${env.CONSOLE_AGENT_CA ?? ""}`;
  if (cached?.key !== key) {
    cached = {
      key,
      identity: {
        certPem: fs.readFileSync(/*turbopackIgnore: true*/ certFile, "utf8"),
        keyPem: fs.readFileSync(/*turbopackIgnore: true*/ keyFile, "utf8"),
        caPem: env.CONSOLE_AGENT_CA ? fs.readFileSync(/*turbopackIgnore: true*/ env.CONSOLE_AGENT_CA, "utf8") : undefined,
      },
    };
  }
  return cached.identity;
}

export class AgentNotConfiguredError extends Error {}

export function agentClientFor(host: { id: string; agentUrl: string; agentCertSha256: string }, identity = consoleClientIdentity()): AgentClient {
  if (!identity) throw new AgentNotConfiguredError("the console has no client certificate for host agents (CONSOLE_AGENT_CLIENT_CERT/KEY)");
  if (!/^[0-9a-f]{64}$/.test(host.agentCertSha256)) throw new AgentNotConfiguredError(`host ${host.id} has no pinned agent certificate`);
  return createAgentClient({
    url: host.agentUrl,
    certSha256: host.agentCertSha256,
    clientCertPem: identity.certPem,
    clientKeyPem: identity.keyPem,
    caPem: identity.caPem,
    connectTimeoutMs: 3000,
    timeoutMs: 8000,
  });
}

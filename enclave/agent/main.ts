/**
 * Runs the host agent as a process:
 *   node --import tsx enclave/agent/main.ts <config.json>
 * Prints one JSON line on stdout when ready: {"event":"agent-ready","url","certSha256","keyStoreUrl","pid"}
 * (the lab launcher waits for it). Logs go to stderr as JSON lines. SIGTERM/SIGINT close it cleanly.
 */
import { loadAgentConfig } from "./config";
import { startAgent } from "./server";

function log(msg: string, fields?: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }) + "\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args[0] === "--config" ? args[1] : args[0];
  if (!file) {
    process.stderr.write("usage: node --import tsx enclave/agent/main.ts <config.json>\n");
    process.exit(2);
  }
  const config = loadAgentConfig(file);
  const agent = await startAgent(config, { log });
  process.stdout.write(
    JSON.stringify({ event: "agent-ready", url: agent.url, certSha256: agent.certSha256, keyStoreUrl: agent.keyStoreUrl, pid: process.pid }) +
      "\n",
  );
  log("agent started", { hostId: config.hostId, url: agent.url, backend: config.backend.kind });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log("shutting down", { signal });
    agent
      .close()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        log("shutdown failed", { error: (e as Error).message });
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((e: unknown) => {
  log("agent failed to start", { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});

/**
 * Production entry of the enclave supervisor (bundled to one file in the image, see enclave/image/Dockerfile):
 *   node supervisor.mjs --config /etc/enclave/supervisor.json
 * Exit: 0 on SIGTERM/SIGINT, 1 on a fatal error, 2 on a bad config.
 */
import fs from "node:fs";
import { supervisorConfigSchema } from "./config";
import { startSupervisor, type SupervisorHandle } from "./supervisor";

function fatal(code: number, msg: string): never {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), product: "enclave-supervisor", msg })}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--config");
  const file = i >= 0 ? process.argv[i + 1] : "/etc/enclave/supervisor.json";
  if (!file) fatal(2, "usage: supervisor --config <path>");
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    fatal(2, `cannot read ${file}: ${(err as Error).message}`);
  }
  // Odyn exports the KMS proxy and egress proxy addresses to the app; the baked config may leave them out.
  if (raw.kmsEndpoint === undefined && process.env.AWS_KMS_ENDPOINT) raw.kmsEndpoint = process.env.AWS_KMS_ENDPOINT;
  if (raw.hostProxyUrl === undefined && process.env.http_proxy) raw.hostProxyUrl = process.env.http_proxy;
  const parsed = supervisorConfigSchema.safeParse(raw);
  if (!parsed.success) fatal(2, `bad config ${file}: ${parsed.error.message}`);
  if (parsed.data.labControls) fatal(2, "labControls must not be enabled in a production config");

  let supervisor: SupervisorHandle | null = null;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      supervisor?.killNow();
      process.exit(0);
    }, 5000).unref();
    void (supervisor?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("exit", () => supervisor?.killNow());
  supervisor = await startSupervisor(parsed.data);
}

main().catch((err: Error) => fatal(1, `supervisor failed: ${err.stack ?? err.message}`));

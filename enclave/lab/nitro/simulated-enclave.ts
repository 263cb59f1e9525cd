/**
 * Entry point of one simulated enclave (stands in for `nitro-cli run-enclave`), started by the agent's simulator
 * backend:
 *   node --import tsx enclave/lab/nitro/simulated-enclave.ts --config <file.json>
 * stdout carries acra-server's log lines only; the supervisor's own log is JSON on stderr.
 * Exit: 0 after SIGTERM/SIGINT (within 2 s), 1 when crashed (POST /v1/control/crash) or on a fatal error,
 * 2 on a bad config.
 */
import fs from "node:fs";
import { runSimulatedEnclave, type SimulatedEnclave } from "./simulated-enclave-runtime";
import { simulatedEnclaveConfigSchema } from "./simulated-enclave-config";

function fatal(code: number, msg: string): never {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), product: "simulated-enclave", msg })}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--config");
  const file = i >= 0 ? process.argv[i + 1] : undefined;
  if (!file) fatal(2, "usage: simulated-enclave.ts --config <path>");
  let config;
  try {
    config = simulatedEnclaveConfigSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  } catch (err) {
    fatal(2, `bad config ${file}: ${(err as Error).message}`);
  }

  let enclave: SimulatedEnclave | null = null;
  let exiting = false;
  const terminate = (code: number) => {
    if (exiting) return;
    exiting = true;
    // Hard deadline: terminate-enclave must not hang.
    setTimeout(() => {
      enclave?.supervisor.killNow();
      process.exit(code);
    }, 1800).unref();
    void (enclave?.stop() ?? Promise.resolve()).finally(() => process.exit(code));
  };
  process.on("SIGTERM", () => terminate(0));
  process.on("SIGINT", () => terminate(0));
  // Never leave acra-server behind holding the master key.
  process.on("exit", () => enclave?.supervisor.killNow());

  const acraEntry = process.env.SIMULATED_ENCLAVE_ACRA_ENTRY;
  enclave = await runSimulatedEnclave(config, {
    ...(acraEntry ? { acraEntry } : {}),
    onCrash: () => {
      // A crash is abrupt: kill acra-server and leave with a failure status, no graceful shutdown.
      enclave?.supervisor.killNow();
      process.exit(1);
    },
  });
}

main().catch((err: Error) => fatal(1, `simulated enclave failed: ${err.stack ?? err.message}`));

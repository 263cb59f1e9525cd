/**
 * `npm run worker`: the worker loop on its own, for production (the console replicas then run with
 * CONSOLE_WORKER=off). Same jobs, same leases, same database as the console. Stops cleanly on SIGTERM/SIGINT.
 * Started with the "react-server" export condition so the server-only modules it shares with the console load.
 */
import { databaseUrl, redactUrl } from "../config";
import { migrate } from "../db/migrate";
import { logger } from "../log";
import { startWorkerLoop } from "./loop";

async function main(): Promise<void> {
  try {
    await migrate(databaseUrl());
  } catch (error) {
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const worker = startWorkerLoop();
  logger.info({ database: redactUrl(databaseUrl()) }, "worker started");
  const stop = () => {
    worker.stop();
    logger.info("worker stopped");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();

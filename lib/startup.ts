import "server-only";
import { databaseUrl, redactUrl } from "./config";
import { ensureFirstAdmin } from "./auth/users";
import { getDb } from "./db/client";
import { migrate } from "./db/migrate";
import { logger } from "./log";

const globalForStartup = globalThis as unknown as { consoleStarted?: Promise<void> };

export function startConsole(): Promise<void> {
  globalForStartup.consoleStarted ??= run();
  return globalForStartup.consoleStarted;
}

async function run(): Promise<void> {
  const url = databaseUrl();
  try {
    const applied = await migrate(url);
    if (applied.length) logger.info({ applied, database: redactUrl(url) }, "database migrated");
    const admin = await ensureFirstAdmin(getDb());
    if (admin?.generatedPassword) {
      // Printed once, to the operator's terminal; it is stored only as an Argon2id hash.
      process.stdout.write(
        `\n  First start: created the admin account\n    email:    ${admin.email}\n    password: ${admin.generatedPassword}\n  (shown once; change it under Settings)\n\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`console: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  if (process.env.CONSOLE_WORKER !== "off") {
    const { startWorkerLoop } = await import("./worker/loop");
    startWorkerLoop();
  }
}

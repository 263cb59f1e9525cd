#!/usr/bin/env node
/**
 * `npm test`: the whole suite, in the order that fails fastest.
 *   1. generate the Prisma clients (offline)   2. type check   3. lint
 *   4. unit + integration tests (Vitest; SQLite and PostgreSQL)
 *   5. production build + end-to-end tests (Playwright in Debian's Chromium)
 * `npm test -- --skip-e2e` stops after step 4 (handy while developing; CI runs everything).
 */
import { spawnSync } from "node:child_process";

const skipE2e = process.argv.includes("--skip-e2e");
const steps = [
  ["prisma clients", "npx", ["tsx", "scripts/db.ts", "generate"]],
  ["type check", "npx", ["tsc", "--noEmit"]],
  ["lint", "npx", ["eslint", "--max-warnings=0", "."]],
  ["unit and integration tests", "npx", ["vitest", "run"]],
  ...(skipE2e
    ? []
    : [
        ["production build", "npx", ["next", "build"]],
        ["end-to-end tests", "npx", ["playwright", "test"]],
      ]),
];

for (const [label, command, args] of steps) {
  const started = Date.now();
  console.log(`\n=== ${label}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`\n=== ${label} FAILED after ${seconds}s`);
    process.exit(result.status ?? 1);
  }
  console.log(`=== ${label} passed in ${seconds}s`);
}

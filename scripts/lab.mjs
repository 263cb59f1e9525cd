#!/usr/bin/env node
/**
 * `npm run lab`: the local lab on a fresh clone, in one command.
 *   1. installs dependencies when node_modules is missing or older than package-lock.json (npm ci)
 *   2. generates the Prisma clients, builds the console when the build is missing or older than the sources
 *   3. hands over to enclave/lab/run.ts, which migrates and seeds the embedded database, starts the AWS emulator,
 *      the simulated Nitro hosts and the console, prints where everything listens and how to sign in, and stops
 *      all of it on Ctrl-C.
 * Options (after `--`): --port N (console, default 3000), --data-dir DIR (default ./data/lab), --skip-build, --e2e.
 * Plain JavaScript on purpose: it must run before `npm ci` has installed TypeScript tooling.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const has = (flag) => args.includes(flag);

function run(label, command, commandArgs, { quiet = false } = {}) {
  process.stdout.write(`lab: ${label}…\n`);
  // Quiet steps keep their chatter unless they fail; then everything they printed is shown.
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    stdio: quiet ? "pipe" : "inherit",
    encoding: "utf8",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    process.stderr.write(`lab: ${label} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function newestSource(dirs) {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(tsx?|css|mjs|js|json|prisma)$/.test(entry.name)) newest = Math.max(newest, mtime(full));
    }
  };
  for (const dir of dirs) walk(path.join(root, dir));
  return newest;
}

const lock = path.join(root, "package-lock.json");
const installed = path.join(root, "node_modules", ".package-lock.json");
if (!fs.existsSync(installed) || mtime(installed) < mtime(lock)) {
  run("installing dependencies (npm ci)", "npm", ["ci", "--no-audit", "--no-fund"]);
}

run("generating the database clients", "npx", ["tsx", "scripts/db.ts", "generate"], { quiet: true });

const buildId = path.join(root, ".next", "BUILD_ID");
const sources = newestSource(["app", "components", "lib", "proxy.ts", "instrumentation.ts", "next.config.js", "public"].filter((dir) => fs.existsSync(path.join(root, dir))));
if (!has("--skip-build") && (!fs.existsSync(buildId) || mtime(buildId) < sources)) {
  run("building the console (next build)", "npx", ["next", "build"]);
}

// The "react-server" export condition lets the lab reuse the console's server-only data modules (seeding, policy).
const child = spawn(path.join(root, "node_modules", ".bin", "tsx"), ["--conditions=react-server", path.join(root, "enclave", "lab", "run.ts"), ...args], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
});
// Ctrl-C reaches the whole foreground process group; run.ts does the orderly shutdown. Forward TERM explicitly.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

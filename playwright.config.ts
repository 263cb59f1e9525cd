import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

/**
 * End-to-end tests against the production build, in Debian's Chromium (never a downloaded browser), with the lab
 * started in e2e mode on its own port and data folder, so a developer's running lab is never touched.
 */
process.env.E2E_LAB_DIR ??= path.join(os.tmpdir(), `console-e2e-${process.pid}-${Date.now()}`);
const port = Number(process.env.E2E_PORT ?? 3210);
export const E2E_BASE_URL = `http://localhost:${port}`;

export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    baseURL: E2E_BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
  // The fault-injection spec breaks the lab's fleet on purpose, so it runs after everything else.
  projects: [
    { name: "console", testIgnore: /fleet-faults\.spec\.ts/ },
    { name: "fleet-faults", testMatch: /fleet-faults\.spec\.ts/, dependencies: ["console"] },
  ],
  webServer: {
    command: `node scripts/lab.mjs --skip-build --e2e --port ${port} --data-dir ${process.env.E2E_LAB_DIR}`,
    url: `http://127.0.0.1:${port}/api/health`,
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
  },
});

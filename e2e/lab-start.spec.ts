import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";

test("a second lab on a port that is taken says so and starts nothing", async ({ baseURL }) => {
  const port = new URL(baseURL!).port;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "second-lab-"));
  const result = spawnSync(process.execPath, ["scripts/lab.mjs", "--skip-build", "--port", port, "--data-dir", dataDir], {
    cwd: path.resolve(__dirname, ".."),
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(`port ${port} is taken: is another \`npm run lab\` running?`);
  // Nothing was prepared for the refused lab.
  expect(fs.existsSync(path.join(dataDir, "console"))).toBe(false);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

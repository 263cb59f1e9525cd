import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { claimLease } from "./loop";

const root = path.resolve(__dirname, "../..");

describe.each(TEST_DB_KINDS)("work leases on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await test.drop();
  });

  it("lets one owner hold a job until the lease expires", async () => {
    const now = new Date();
    expect(await claimLease(test.db, "job.a", 60_000, now)).toBe(true);
    // Our own lease renews.
    expect(await claimLease(test.db, "job.a", 60_000, now)).toBe(true);
    // Another owner (simulated by rewriting the owner) cannot take it before it expires...
    await test.db.lease.update({ where: { name: "job.a" }, data: { owner: "someone-else" } });
    expect(await claimLease(test.db, "job.a", 60_000, now)).toBe(false);
    // ...and can after.
    expect(await claimLease(test.db, "job.a", 60_000, new Date(now.getTime() + 61_000))).toBe(true);
  });
});

describe("worker process", () => {
  it("stops with one line naming DATABASE_URL when the database cannot be reached", () => {
    const result = spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["--conditions=react-server", "lib/worker/main.ts"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: "postgresql://console:s3cret@127.0.0.1:1/console", LOG_LEVEL: "silent" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n").filter((line) => !/NODE_OPTIONS|ExperimentalWarning/.test(line));
    expect(lines).toEqual([expect.stringMatching(/^worker: cannot reach the database at DATABASE_URL=postgresql:\/\/console:\*\*\*@127\.0\.0\.1:1\/console: /)]);
    expect(result.stderr).not.toContain("s3cret");
  });
});

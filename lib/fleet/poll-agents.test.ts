import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { pruneHealthSamples } from "./poll-agents";

describe.each(TEST_DB_KINDS)("health sample retention on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
    await test.db.host.create({ data: { id: "h1", name: "h1", region: "us-east-1", instanceId: "i-0", agentUrl: "https://127.0.0.1:1" } });
    await test.db.enclave.create({ data: { id: "e1", hostId: "h1" } });
  });
  afterAll(async () => {
    await test.drop();
  });

  it("deletes samples older than the window and keeps the rest", async () => {
    const now = new Date("2026-12-04T12:00:00Z");
    const day = 86_400_000;
    for (const age of [0.5, 6.9, 7.1, 30]) {
      await test.db.enclaveHealthSample.create({ data: { enclaveId: "e1", at: new Date(now.getTime() - age * day), state: "RUNNING", acraUp: true } });
    }
    expect(await pruneHealthSamples(test.db, 7, now)).toBe(2);
    const left = await test.db.enclaveHealthSample.findMany({ orderBy: { at: "asc" } });
    expect(left.map((sample) => (now.getTime() - sample.at.getTime()) / day)).toEqual([6.9, 0.5]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { hashAuditRecord } from "./chain";
import { appendAudit, verifyAuditTrail } from "./trail";

describe.each(TEST_DB_KINDS)("audit trail on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await test.drop();
  });

  it("chains each record to the previous one and verifies", async () => {
    const first = await appendAudit(test.db, { actorName: "ana@example.com", actorRole: "admin", action: "auth.sign_in", outcome: "success" });
    const second = await appendAudit(test.db, {
      actorName: "ana@example.com",
      actorRole: "admin",
      action: "settings.update",
      target: "setting:freshness",
      params: { value: 300, password: "hunter2" },
      outcome: "success",
    });
    expect(first.prevHash).toBe("0".repeat(64));
    expect(second.prevHash).toBe(first.hash);
    expect(second.seq).toBe(first.seq + 1);
    expect(second.params).toBe('{"password":"[redacted]","value":300}');
    expect(second.hash).toBe(hashAuditRecord(first.hash, second));
    const report = await verifyAuditTrail(test.db);
    expect(report).toMatchObject({ ok: true, checked: 2, firstBreak: null, headHash: second.hash });
  });

  it("never forks under concurrent appends", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        appendAudit(test.db, { actorName: `user${index}`, actorRole: "operator", action: "alerts.acknowledge", outcome: "success" }),
      ),
    );
    const report = await verifyAuditTrail(test.db, 5);
    expect(report.ok).toBe(true);
    expect(report.checked).toBe(14);
  });

  it("refuses to update or delete a record", async () => {
    // (The SQLite driver adapter reports RAISE(ABORT) under a generic message; what matters is that nothing changed.)
    const before = await test.db.auditRecord.findMany({ orderBy: { seq: "asc" } });
    await expect(test.db.auditRecord.update({ where: { seq: 1 }, data: { outcome: "failure" } })).rejects.toThrow();
    await expect(test.db.auditRecord.delete({ where: { seq: 1 } })).rejects.toThrow();
    await expect(test.db.auditRecord.deleteMany({})).rejects.toThrow();
    expect(await test.db.auditRecord.findMany({ orderBy: { seq: "asc" } })).toEqual(before);
  });
});

describe("chain verification finds the first broken link", () => {
  it("reports a record whose content was altered behind the triggers' back", async () => {
    const test = await createTestDatabase("sqlite");
    try {
      for (let index = 0; index < 5; index += 1) {
        await appendAudit(test.db, { actorName: "op", actorRole: "operator", action: `step.${index}`, outcome: "success" });
      }
      // Someone with file access drops the trigger and edits record 3.
      await test.db.$executeRawUnsafe('DROP TRIGGER "AuditRecord_no_update"');
      await test.db.$executeRawUnsafe(`UPDATE "AuditRecord" SET "outcome" = 'failure' WHERE "seq" = 3`);
      const report = await verifyAuditTrail(test.db);
      expect(report.ok).toBe(false);
      expect(report.checked).toBe(2);
      expect(report.firstBreak).toMatchObject({ seq: 3, reason: "hash_mismatch" });
    } finally {
      await test.drop();
    }
  });

  it("reports a deleted record as a gap", async () => {
    const test = await createTestDatabase("sqlite");
    try {
      for (let index = 0; index < 4; index += 1) {
        await appendAudit(test.db, { actorName: "op", actorRole: "operator", action: `step.${index}`, outcome: "success" });
      }
      await test.db.$executeRawUnsafe('DROP TRIGGER "AuditRecord_no_delete"');
      await test.db.$executeRawUnsafe('DELETE FROM "AuditRecord" WHERE "seq" = 2');
      const report = await verifyAuditTrail(test.db);
      expect(report.firstBreak).toEqual({ seq: 3, reason: "gap", expectedSeq: 2 });
    } finally {
      await test.drop();
    }
  });
});

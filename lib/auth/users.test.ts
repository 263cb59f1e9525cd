import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { verifyPassword } from "./password";
import { createLocalUser, ensureFirstAdmin, setUserDisabled } from "./users";

describe.each(TEST_DB_KINDS)("accounts on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await test.drop();
  });

  it("creates the first admin once, with a generated password that is only stored hashed", async () => {
    const first = await ensureFirstAdmin(test.db, {});
    expect(first?.email).toBe("admin@console.local");
    expect(first?.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await ensureFirstAdmin(test.db, {})).toBeNull();
    const account = await test.db.account.findFirstOrThrow({ omit: { password: false } });
    expect(account.password).toMatch(/^\$argon2id\$/);
    expect(account.password).not.toContain(first!.generatedPassword!);
    expect(await verifyPassword({ hash: account.password!, password: first!.generatedPassword! })).toBe(true);
    expect(await verifyPassword({ hash: account.password!, password: "wrong-password-123" })).toBe(false);
  });

  it("hides password hashes from ordinary queries", async () => {
    const account = await test.db.account.findFirstOrThrow();
    expect(account).not.toHaveProperty("password");
  });

  it("refuses a short password and a duplicate email", async () => {
    await expect(createLocalUser(test.db, { email: "a@b.co", name: "A", role: "auditor", password: "short" })).rejects.toThrow(/12 characters/);
    await createLocalUser(test.db, { email: "a@b.co", name: "A", role: "auditor", password: "long-enough-password" });
    await expect(createLocalUser(test.db, { email: "A@B.co", name: "A", role: "auditor", password: "long-enough-password" })).rejects.toThrow(/already exists/);
  });

  it("revokes sessions when a user is disabled", async () => {
    const user = await test.db.user.findUniqueOrThrow({ where: { email: "a@b.co" } });
    await test.db.session.create({ data: { id: "s1", token: "t1", userId: user.id, expiresAt: new Date(Date.now() + 60_000) } });
    await setUserDisabled(test.db, user.id, true);
    expect(await test.db.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await test.db.user.findUniqueOrThrow({ where: { id: user.id } })).disabled).toBe(true);
  });
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS } from "../../test/db";
import { DatabaseUnavailableError, migrate } from "./migrate";

const root = path.resolve(__dirname, "../..");

describe.each(TEST_DB_KINDS)("migrations on %s", (kind) => {
  it("creates every table, then finds nothing more to apply", async () => {
    const test = await createTestDatabase(kind);
    try {
      expect(await migrate(test.url, root)).toEqual([]);
      await test.db.setting.create({ data: { key: "k", value: "v" } });
      expect(await test.db.setting.findUnique({ where: { key: "k" } })).toMatchObject({ value: "v" });
    } finally {
      await test.drop();
    }
  });
});

describe("migration history", () => {
  it("refuses a migration that was edited after it was applied", async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "mig-"));
    fs.cpSync(path.join(root, "prisma", "migrations"), path.join(copy, "prisma", "migrations"), { recursive: true });
    const url = `file:${path.join(copy, "db.sqlite")}`;
    const applied = await migrate(url, copy);
    expect(applied.length).toBeGreaterThan(0);
    const first = applied[0]!;
    fs.appendFileSync(path.join(copy, "prisma", "migrations", first, "migration.sql"), "\n-- edited\n");
    await expect(migrate(url, copy)).rejects.toThrow(`migration ${first} was changed after it was applied`);
    fs.rmSync(copy, { recursive: true, force: true });
  });

  it("names DATABASE_URL when PostgreSQL cannot be reached", async () => {
    const error = await migrate("postgresql://nobody:secret@127.0.0.1:1/none", root).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toContain("DATABASE_URL=postgresql://nobody:***@127.0.0.1:1/none");
    expect((error as Error).message).not.toContain("secret");
  });
});

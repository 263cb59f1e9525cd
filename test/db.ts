/**
 * Real databases for integration tests: a fresh SQLite file, or a fresh PostgreSQL database on the local server
 * (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres). Every call makes a new one, so test
 * runs never see each other's rows; `drop()` removes it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { createDb, type Db } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";

export type TestDbKind = "sqlite" | "postgresql";
export const TEST_DB_KINDS: TestDbKind[] = ["sqlite", "postgresql"];

export interface TestDatabase {
  kind: TestDbKind;
  url: string;
  db: Db;
  drop(): Promise<void>;
}

const root = path.resolve(__dirname, "..");

export function postgresAdminUrl(): string {
  return process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

export async function createTestDatabase(kind: TestDbKind): Promise<TestDatabase> {
  const name = `console_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  if (kind === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "console-test-"));
    const url = `file:${path.join(dir, `${name}.db`)}`;
    await migrate(url, root);
    const db = createDb(url);
    return {
      kind,
      url,
      db,
      async drop() {
        await db.$disconnect();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const admin = new Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const parsed = new URL(postgresAdminUrl());
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  await migrate(url, root);
  const db = createDb(url);
  return {
    kind,
    url,
    db,
    async drop() {
      await db.$disconnect();
      const cleanup = new Client({ connectionString: postgresAdminUrl() });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

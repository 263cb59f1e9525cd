/**
 * Applies the SQL migrations in prisma/migrations (SQLite) or prisma/postgres/migrations (PostgreSQL), in name
 * order, each in its own transaction, and records them in _console_migrations with a checksum. A migration that was
 * applied and has since been edited is refused: the history must only grow.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { databaseKind, redactUrl, sqlitePath } from "../config";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function migrationsDir(kind: "sqlite" | "postgresql", root = process.cwd()): string {
  return kind === "sqlite" ? path.join(root, "prisma", "migrations") : path.join(root, "prisma", "postgres", "migrations");
}

export function readMigrations(dir: string): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export class DatabaseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`cannot reach the database at DATABASE_URL=${redactUrl(url)}: ${detail}`);
    this.name = "DatabaseUnavailableError";
  }
}

function checkHistory(applied: Map<string, string>, migrations: Migration[]): Migration[] {
  for (const [name, checksum] of applied) {
    const found = migrations.find((migration) => migration.name === name);
    if (!found) throw new Error(`the database has migration ${name}, which this version of the console does not know`);
    if (found.checksum !== checksum) throw new Error(`migration ${name} was changed after it was applied`);
  }
  return migrations.filter((migration) => !applied.has(migration.name));
}

async function migrateSqlite(url: string, migrations: Migration[]): Promise<string[]> {
  const { default: Database } = await import("better-sqlite3");
  const file = sqlitePath(url);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: InstanceType<typeof Database>;
  try {
    db = new Database(file);
  } catch (error) {
    throw new DatabaseUnavailableError(url, error);
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    db.exec("CREATE TABLE IF NOT EXISTS _console_migrations (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)");
    // BEGIN IMMEDIATE takes the write lock before reading the history, so two starting processes cannot both apply.
    const run = db.transaction(() => {
      const rows = db.prepare("SELECT name, checksum FROM _console_migrations").all() as { name: string; checksum: string }[];
      const pending = checkHistory(new Map(rows.map((row) => [row.name, row.checksum])), migrations);
      for (const migration of pending) {
        db.exec(migration.sql);
        db.prepare("INSERT INTO _console_migrations (name, checksum, applied_at) VALUES (?, ?, ?)").run(
          migration.name,
          migration.checksum,
          new Date().toISOString(),
        );
      }
      return pending.map((migration) => migration.name);
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string, migrations: Migration[]): Promise<string[]> {
  const { Client } = await import("pg");
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseUnavailableError(url, error);
  }
  try {
    // One migrator at a time across all console replicas and workers.
    await client.query("SELECT pg_advisory_lock(7261001)");
    await client.query(
      "CREATE TABLE IF NOT EXISTS _console_migrations (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    );
    const { rows } = await client.query<{ name: string; checksum: string }>("SELECT name, checksum FROM _console_migrations");
    const pending = checkHistory(new Map(rows.map((row) => [row.name, row.checksum])), migrations);
    for (const migration of pending) {
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO _console_migrations (name, checksum, applied_at) VALUES ($1, $2, now())", [
          migration.name,
          migration.checksum,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    }
    return pending.map((migration) => migration.name);
  } finally {
    await client.query("SELECT pg_advisory_unlock(7261001)").catch(() => undefined);
    await client.end();
  }
}

/** Brings the database at `url` up to date; returns the names of the migrations it applied. */
export async function migrate(url: string, root = process.cwd()): Promise<string[]> {
  const kind = databaseKind(url);
  const migrations = readMigrations(migrationsDir(kind, root));
  return kind === "sqlite" ? migrateSqlite(url, migrations) : migratePostgres(url, migrations);
}

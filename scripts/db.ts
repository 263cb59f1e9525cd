/**
 * Schema tooling for developers and for a fresh clone.
 *   tsx scripts/db.ts generate            derive prisma/postgres/schema.prisma and generate both clients
 *   tsx scripts/db.ts new-migration NAME  write the SQL that moves both databases from the last migration to the schema
 *   tsx scripts/db.ts migrate             apply pending migrations to DATABASE_URL (default: the lab's SQLite file)
 *
 * Why not `prisma migrate dev`: Prisma 6.19's CLI cannot reach its native engines here, and against PostgreSQL it
 * needs a shadow database. `migrate diff` between two schema files works offline for both providers, and the
 * console applies the resulting SQL itself (lib/db/migrate.ts).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const schema = path.join(root, "prisma", "schema.prisma");
const pgSchema = path.join(root, "prisma", "postgres", "schema.prisma");
const placeholder = path.join(root, "prisma", ".engine-placeholder");

function prismaEnv(databaseUrl?: string): NodeJS.ProcessEnv {
  // With engine "js" and a driver adapter nothing loads these; they stop the CLI from trying to download engines.
  return {
    ...process.env,
    PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
    PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
    DATABASE_URL: databaseUrl ?? "",
  };
}

function prisma(args: string[], databaseUrl?: string): string {
  return execFileSync(path.join(root, "node_modules", ".bin", "prisma"), args, {
    cwd: root,
    env: prismaEnv(databaseUrl),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** The PostgreSQL schema is the SQLite one with another provider and client folder: derived, never edited. */
export function derivePostgresSchema(source: string): string {
  const out = source
    .replace('provider = "sqlite"', 'provider = "postgresql"')
    .replace('url      = "file:./placeholder.db"', 'url      = env("DATABASE_URL")')
    .replace('output     = "../lib/generated/prisma"', 'output     = "../../lib/generated/prisma-postgres"');
  if (out === source || !out.includes('"postgresql"') || !out.includes("prisma-postgres")) {
    throw new Error("prisma/schema.prisma no longer has the generator/datasource lines scripts/db.ts rewrites");
  }
  return "// DERIVED from prisma/schema.prisma by scripts/db.ts. Do not edit.\n" + out;
}

function writeDerived(): void {
  fs.mkdirSync(path.dirname(pgSchema), { recursive: true });
  fs.writeFileSync(pgSchema, derivePostgresSchema(fs.readFileSync(schema, "utf8")));
  if (!fs.existsSync(placeholder)) fs.writeFileSync(placeholder, "");
}

const PG_DUMMY_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

function generate(): void {
  writeDerived();
  prisma(["generate", "--schema", schema]);
  prisma(["generate", "--schema", pgSchema], PG_DUMMY_URL);
}

function newMigration(name: string): void {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error("migration name: lower-case letters, digits and _ only");
  writeDerived();
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  for (const [dir, file, url] of [
    [path.join(root, "prisma", "migrations"), schema, undefined],
    [path.join(root, "prisma", "postgres", "migrations"), pgSchema, PG_DUMMY_URL],
  ] as const) {
    fs.mkdirSync(dir, { recursive: true });
    const snapshot = path.join(dir, "schema.snapshot.prisma");
    const from = fs.existsSync(snapshot) ? ["--from-schema-datamodel", snapshot] : ["--from-empty"];
    const sql = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", file, "--script"], url);
    if (!/CREATE|ALTER|DROP/i.test(sql)) {
      console.log(`${path.relative(root, dir)}: no changes`);
      continue;
    }
    const target = path.join(dir, `${stamp}_${name}`);
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "migration.sql"), sql);
    fs.copyFileSync(file, snapshot);
    console.log(`wrote ${path.relative(root, target)}/migration.sql`);
  }
}

async function main(): Promise<void> {
  const [command, arg] = process.argv.slice(2);
  if (command === "generate") return generate();
  if (command === "new-migration") return newMigration(arg ?? "");
  if (command === "migrate") {
    const { migrate } = await import("../lib/db/migrate");
    const { databaseUrl } = await import("../lib/config");
    const applied = await migrate(databaseUrl());
    console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
    return;
  }
  console.error("usage: tsx scripts/db.ts generate | new-migration NAME | migrate");
  process.exit(2);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}

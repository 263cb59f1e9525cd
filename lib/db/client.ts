/**
 * The Prisma clients of the process. SQLite (embedded default) or PostgreSQL, chosen by DATABASE_URL.
 * Both generated clients come from the same models (prisma/schema.prisma), so the SQLite client's types describe both.
 *
 * `getDb()` omits secret columns (password hashes, OAuth tokens, session tokens) globally: application code cannot
 * select them by accident, and a review finds every `omit: { password: false }`. Only Better Auth, which must read
 * them, gets the unfiltered client (`getAuthDb()`).
 */
import { databaseKind, databaseUrl, sqlitePath } from "../config";
import { PrismaClient } from "../generated/prisma/client";
import { PrismaClient as PostgresPrismaClient } from "../generated/prisma-postgres/client";

const omit = {
  account: { password: true, accessToken: true, refreshToken: true, idToken: true },
  session: { token: true },
} as const;

type Options = ConstructorParameters<typeof PrismaClient>[0];

function construct<O extends Options>(url: string, options: O) {
  if (databaseKind(url) === "postgresql") {
    // adapter-pg 7 is the one that works with Prisma 6.19 against a real server (see TOOLCHAIN.md).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaPg } = require("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg");
    const client = new PostgresPrismaClient({ ...options, adapter: new PrismaPg({ connectionString: url }) } as never);
    return client as unknown as PrismaClient<never, O extends { omit: infer U } ? U : undefined>;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PrismaBetterSQLite3 } = require("@prisma/adapter-better-sqlite3") as typeof import("@prisma/adapter-better-sqlite3");
  const client = new PrismaClient({ ...options, adapter: new PrismaBetterSQLite3({ url: `file:${sqlitePath(url)}`, timeout: 5000 }) } as never);
  return client as unknown as PrismaClient<never, O extends { omit: infer U } ? U : undefined>;
}

function createClient(url: string) {
  return construct(url, { omit });
}

export type Db = ReturnType<typeof createClient>;
export type RawDb = PrismaClient;

const globalForDb = globalThis as unknown as { consoleDb?: Db; consoleAuthDb?: RawDb; consoleDbUrl?: string };

function refresh(): void {
  const url = databaseUrl();
  if (globalForDb.consoleDbUrl !== url) {
    globalForDb.consoleDb = undefined;
    globalForDb.consoleAuthDb = undefined;
    globalForDb.consoleDbUrl = url;
  }
}

export function getDb(): Db {
  refresh();
  globalForDb.consoleDb ??= createClient(databaseUrl());
  return globalForDb.consoleDb;
}

/** The unfiltered client, for Better Auth only (it must read password hashes and session tokens). */
export function getAuthDb(): RawDb {
  refresh();
  globalForDb.consoleAuthDb ??= construct(databaseUrl(), {}) as unknown as RawDb;
  return globalForDb.consoleAuthDb;
}

/** For tests and scripts that point at a database of their own. */
export function createDb(url: string): Db {
  return createClient(url);
}

/**
 * The one Prisma client of the process. SQLite (embedded default) or PostgreSQL, chosen by DATABASE_URL.
 * Both generated clients come from the same models (prisma/schema.prisma), so the SQLite client's types describe both.
 *
 * Secret columns (account.password, tokens) are omitted globally: code that needs one must ask for it explicitly
 * with `omit: { password: false }`, which is easy to find in review.
 */
import { databaseKind, databaseUrl, sqlitePath } from "../config";
import { PrismaClient } from "../generated/prisma/client";
import { PrismaClient as PostgresPrismaClient } from "../generated/prisma-postgres/client";

const omit = {
  account: { password: true, accessToken: true, refreshToken: true, idToken: true },
  session: { token: true },
} as const;

function createClient(url: string) {
  if (databaseKind(url) === "postgresql") {
    // adapter-pg 7 is the one that works with Prisma 6.19 against a real server (see TOOLCHAIN.md).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaPg } = require("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg");
    const client = new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: url }), omit });
    return client as unknown as PrismaClient<{ omit: typeof omit }>;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PrismaBetterSQLite3 } = require("@prisma/adapter-better-sqlite3") as typeof import("@prisma/adapter-better-sqlite3");
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${sqlitePath(url)}`, timeout: 5000 }), omit });
}

export type Db = ReturnType<typeof createClient>;

const globalForDb = globalThis as unknown as { consoleDb?: Db; consoleDbUrl?: string };

export function getDb(): Db {
  const url = databaseUrl();
  if (!globalForDb.consoleDb || globalForDb.consoleDbUrl !== url) {
    globalForDb.consoleDb = createClient(url);
    globalForDb.consoleDbUrl = url;
  }
  return globalForDb.consoleDb;
}

/** For tests and scripts that point at a database of their own. */
export function createDb(url: string): Db {
  return createClient(url);
}

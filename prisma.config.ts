import path from "node:path";
import { defineConfig } from "prisma/config";

// The CLI is used only to generate the client and to diff schemas into migration SQL (scripts/db.ts).
// Migrations are applied by lib/db/migrate.ts at start, for SQLite and PostgreSQL alike.
const postgres = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? "");

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: postgres ? path.join("prisma", "postgres", "schema.prisma") : path.join("prisma", "schema.prisma"),
  async adapter() {
    if (postgres) {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      return new PrismaPg({ connectionString: process.env.DATABASE_URL });
    }
    const { PrismaBetterSQLite3 } = await import("@prisma/adapter-better-sqlite3");
    return new PrismaBetterSQLite3({ url: "file:./data/prisma-cli.db" });
  },
});

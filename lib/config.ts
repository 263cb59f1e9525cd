/**
 * Process configuration, read from the environment once. No secrets are logged from here.
 * Plain module (no "server-only") so scripts, the CLI and the worker can import it too.
 */
import path from "node:path";

export function dataDir(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.CONSOLE_DATA_DIR ?? path.join(process.cwd(), "data"));
}

/** DATABASE_URL, or the embedded default: a SQLite file in the data folder. */
export function databaseUrl(): string {
  const url = process.env.DATABASE_URL?.trim();
  if (url) return url;
  return `file:${path.join(dataDir(), "console.db")}`;
}

export type DatabaseKind = "sqlite" | "postgresql";

export function databaseKind(url: string = databaseUrl()): DatabaseKind {
  if (/^postgres(ql)?:\/\//.test(url)) return "postgresql";
  if (url.startsWith("file:")) return "sqlite";
  throw new Error(`DATABASE_URL must be a postgresql:// URL or a file: path for SQLite (got a "${url.split(":")[0]}:" URL)`);
}

export function sqlitePath(url: string): string {
  return path.resolve(url.replace(/^file:/, "").replace(/\?.*$/, ""));
}

/** A database URL with its password removed, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

export function isProduction(): boolean {
  return process.env.NODE_ENV === "production";
}

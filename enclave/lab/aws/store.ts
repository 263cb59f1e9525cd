/**
 * The emulator's persistent state: one SQLite file (`aws-emulator.db`) in the data folder, so restarting the
 * emulator keeps keys, CloudTrail events and log events. Each service module owns its tables; all rows carry the
 * region, because AWS keeps every one of these resources per region.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kms_keys (
  region TEXT NOT NULL, key_id TEXT NOT NULL, created_ms INTEGER NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (region, key_id));
CREATE TABLE IF NOT EXISTS kms_aliases (
  region TEXT NOT NULL, alias_name TEXT NOT NULL, target_key_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (region, alias_name));
CREATE TABLE IF NOT EXISTS ct_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, event_time_ms INTEGER NOT NULL,
  event_id TEXT NOT NULL, event_name TEXT, event_source TEXT, read_only TEXT, access_key_id TEXT,
  username TEXT, resources TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ct_events_time ON ct_events (region, event_time_ms, seq);
CREATE TABLE IF NOT EXISTS log_groups (
  region TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL, retention_days INTEGER,
  PRIMARY KEY (region, name));
CREATE TABLE IF NOT EXISTS log_streams (
  region TEXT NOT NULL, group_name TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
  first_ts INTEGER, last_ts INTEGER, last_ingestion_ms INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (region, group_name, name));
CREATE TABLE IF NOT EXISTS log_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, group_name TEXT NOT NULL, stream TEXT NOT NULL,
  ts INTEGER NOT NULL, ingestion_ms INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (region, group_name, stream, ts, seq);
CREATE INDEX IF NOT EXISTS log_events_group ON log_events (region, group_name, ts, seq);
`;

export function openStore(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, "aws-emulator.db"));
  db.pragma("journal_mode = WAL");
  // NORMAL keeps WAL durable across a process crash of the emulator (not of the OS), which is all the lab needs.
  db.pragma("synchronous = NORMAL");
  db.exec(SCHEMA);
  return db;
}

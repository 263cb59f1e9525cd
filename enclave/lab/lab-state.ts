/**
 * What a running lab writes about itself (data folder, lab-state.json), so `npm run --silent cli -- lab ...` can
 * find it from another terminal. The file is removed on a clean stop; a stale one (its process gone) means no lab.
 */
import fs from "node:fs";
import path from "node:path";

export interface LabState {
  pid: number;
  startedAt: string;
  dataDir: string;
  console: { url: string; pid?: number };
  aws: { endpoint: string } | null;
  hosts: { id: string; region: string; url: string; certSha256: string; instanceId: string }[];
  controlUrl: string | null;
  controlToken?: string;
}

export function defaultLabDataDir(root = process.cwd()): string {
  return path.resolve(process.env.LAB_DATA_DIR ?? path.join(root, "data", "lab"));
}

export function labStateFile(dataDir: string): string {
  return path.join(dataDir, "lab-state.json");
}

export function writeLabState(state: LabState): void {
  const file = labStateFile(state.dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readLabState(dataDir: string): LabState | null {
  try {
    const state = JSON.parse(fs.readFileSync(labStateFile(dataDir), "utf8")) as LabState;
    return alive(state.pid) ? state : null;
  } catch {
    return null;
  }
}

export function removeLabState(dataDir: string): void {
  fs.rmSync(labStateFile(dataDir), { force: true });
}

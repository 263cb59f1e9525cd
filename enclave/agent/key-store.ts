/**
 * Opaque key blobs on the host (KMS-encrypted master key, Acra's encrypted keystore). The agent only stores and
 * forwards ciphertext; it never holds a key that could decrypt it.
 *
 * Layout: <dir>/<name>/v<version>.bin (the bytes, 0600) and <dir>/<name>/current.json (which version is live).
 * Every file is written atomically (temp file, fsync, rename, fsync of the folder), and the pointer is written after
 * the blob, so a crash at any point leaves either the old or the new version live, never a torn file.
 */
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { KeyBlobName } from "@/lib/fleet/agent-protocol";

export const KEY_BLOB_NAMES: readonly KeyBlobName[] = ["master-key", "keystore"];

export class KeyStoreError extends Error {
  constructor(
    readonly code: "stale-version" | "version-conflict" | "corrupt",
    message: string,
  ) {
    super(message);
    this.name = "KeyStoreError";
  }
}

const TEMP_MARK = ".tmp-";

/** Write `data` to `file` so that readers see the old or the new content, never a mix, even across a crash. */
export async function writeFileAtomic(file: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${path.basename(file)}${TEMP_MARK}${process.pid}-${crypto.randomBytes(6).toString("hex")}`);
  const fh = await fs.open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable only once the directory entry is on disk.
  const dh = await fs.open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

interface Pointer {
  version: number;
  sha256: string;
  storedAt: string;
}

export interface KeyBlob {
  name: KeyBlobName;
  version: number;
  ciphertext: Buffer;
  sha256: string;
  storedAt: string;
}

export class KeyBlobStore {
  private constructor(private readonly dir: string) {}

  /** Creates the folder (0700) and removes temp files a crash may have left behind. */
  static async open(dir: string): Promise<KeyBlobStore> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chmod(dir, 0o700);
    for (const name of KEY_BLOB_NAMES) {
      const sub = path.join(dir, name);
      await fs.mkdir(sub, { recursive: true, mode: 0o700 });
      for (const f of await fs.readdir(sub)) {
        if (f.includes(TEMP_MARK)) await fs.rm(path.join(sub, f), { force: true });
      }
    }
    return new KeyBlobStore(dir);
  }

  private async pointer(name: KeyBlobName): Promise<Pointer | null> {
    const text = await fs.readFile(path.join(this.dir, name, "current.json"), "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return null;
      throw e;
    });
    if (text === null) return null;
    const p = JSON.parse(text) as Pointer;
    if (!Number.isInteger(p.version) || typeof p.sha256 !== "string") {
      throw new KeyStoreError("corrupt", `${name}/current.json is not a valid pointer`);
    }
    return p;
  }

  /**
   * Stores a new version. Versions only move forward: an older version is refused (a host-side guard against
   * replaying an old keystore; the supervisor's KMS-bound version check is the real one). Re-delivering the same
   * version with the same bytes is a no-op, with different bytes a conflict.
   */
  async put(name: KeyBlobName, version: number, ciphertext: Buffer): Promise<{ version: number; sha256: string; changed: boolean }> {
    const sha256 = crypto.createHash("sha256").update(ciphertext).digest("hex");
    const cur = await this.pointer(name);
    if (cur && version < cur.version) {
      throw new KeyStoreError("stale-version", `${name}: version ${version} is older than the stored version ${cur.version}`);
    }
    if (cur && version === cur.version) {
      if (cur.sha256 === sha256) return { version, sha256, changed: false };
      throw new KeyStoreError("version-conflict", `${name}: version ${version} is already stored with different content`);
    }
    await writeFileAtomic(path.join(this.dir, name, `v${version}.bin`), ciphertext);
    const pointer: Pointer = { version, sha256, storedAt: new Date().toISOString() };
    await writeFileAtomic(path.join(this.dir, name, "current.json"), JSON.stringify(pointer));
    return { version, sha256, changed: true };
  }

  /** The live version, or null when none was delivered. The bytes are checked against the recorded SHA-256. */
  async get(name: KeyBlobName): Promise<KeyBlob | null> {
    const p = await this.pointer(name);
    if (!p) return null;
    const ciphertext = await fs.readFile(path.join(this.dir, name, `v${p.version}.bin`));
    const sha256 = crypto.createHash("sha256").update(ciphertext).digest("hex");
    if (sha256 !== p.sha256) throw new KeyStoreError("corrupt", `${name} v${p.version}: content does not match its digest`);
    return { name, version: p.version, ciphertext, sha256, storedAt: p.storedAt };
  }

  /** Versions kept on disk (older ones stay for audit and manual rollback by an operator). */
  async versions(name: KeyBlobName): Promise<number[]> {
    const files = await fs.readdir(path.join(this.dir, name));
    return files
      .map((f) => /^v(\d+)\.bin$/.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }
}

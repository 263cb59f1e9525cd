import fs from "node:fs/promises";
import path from "node:path";

/**
 * Cross-process lock on a folder (mkdir is atomic), so processes starting together do not each mint their own CA
 * or key. A lock older than 30 s was left by a process that died mid-way (the guarded work takes milliseconds).
 */
export async function withDirLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const lock = path.join(dir, ".lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const stat = await fs.stat(lock).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > 30_000) {
        await fs.rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

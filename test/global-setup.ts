/**
 * Runs once before the Vitest suite. The generated Prisma clients must exist (scripts/test.mjs generates them);
 * fail with a clear message rather than a module-not-found deep inside a test.
 */
import fs from "node:fs";
import path from "node:path";

export default function setup(): void {
  for (const dir of ["prisma", "prisma-postgres"]) {
    if (!fs.existsSync(path.join(__dirname, "..", "lib", "generated", dir, "client.ts"))) {
      throw new Error(`lib/generated/${dir} is missing: run "npx tsx scripts/db.ts generate" (npm test does it)`);
    }
  }
}

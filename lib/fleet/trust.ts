/**
 * Which attestation roots the console trusts. The AWS Nitro G1 root is built in; a lab root (the local lab's CA)
 * is accepted only when CONSOLE_LAB_ROOT_PEM_FILE is set, and the UI then says so on every page.
 */
import fs from "node:fs";

export function labRootPemFile(): string | null {
  return process.env.CONSOLE_LAB_ROOT_PEM_FILE?.trim() || null;
}

export function labTrustActive(): boolean {
  return labRootPemFile() !== null;
}

export function readLabRootPem(): string | null {
  const file = labRootPemFile();
  if (!file) return null;
  try {
    return fs.readFileSync(/*turbopackIgnore: true*/ file, "utf8");
  } catch {
    return null;
  }
}

/**
 * PCR3 and PCR4 are extended from facts about the parent instance, so the console can check them against what it
 * knows about the host: PCR3 = SHA-384(48 zero bytes || IAM role ARN), PCR4 = SHA-384(48 zero bytes || instance id)
 * (AWS Nitro Enclaves user guide, "Where to get an enclave's measurements"; confirmed on every real document).
 */
import { createHash } from "node:crypto";

const ZERO_PCR = Buffer.alloc(48);

function extendFromZero(value: string): string {
  return createHash("sha384").update(ZERO_PCR).update(value, "utf8").digest("hex");
}

/** PCR4 for a parent EC2 instance id (e.g. "i-1234567890abcdef0"), lower-case hex. */
export function pcrForInstanceId(id: string): string {
  return extendFromZero(id);
}

/** PCR3 for the IAM role ARN attached to the parent instance, lower-case hex. */
export function pcrForRoleArn(arn: string): string {
  return extendFromZero(arn);
}

/** A debug-mode enclave reports PCR0, PCR1 and PCR2 as 48 zero bytes (PCR3/PCR4 still come from the parent). */
export function isDebugPcrs(pcrs: Record<number, string>): boolean {
  const zero = "0".repeat(96);
  return pcrs[0] === zero && pcrs[1] === zero && pcrs[2] === zero;
}

/** Normalises an expected PCR (hex, case-insensitive, optional 0x) or returns null when it is not 96 hex chars. */
export function normalisePcrHex(value: string): string | null {
  const hex = value.trim().replace(/^0x/i, "").toLowerCase();
  return /^[0-9a-f]{96}$/.test(hex) ? hex : null;
}

/** Password hashing for local accounts: Argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane). */
import { hash, verify } from "@node-rs/argon2";

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword({ hash: stored, password }: { hash: string; password: string }): Promise<boolean> {
  // A malformed stored hash is a failed sign-in, not a crash.
  return verify(stored, password).catch(() => false);
}

export const PASSWORD_MIN_LENGTH = 12;

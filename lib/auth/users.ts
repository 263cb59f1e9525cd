/**
 * Local accounts: creation (by an admin, or the first admin at first start), role changes, disabling, session
 * revocation. Pure data access; authorization happens in the actions that call these.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import type { Db } from "../db/client";
import { hashPassword, PASSWORD_MIN_LENGTH } from "./password";
import { ROLES, type Role } from "./permissions";

export const emailSchema = z.string().trim().toLowerCase().email("Enter a valid email address").max(254);
export const passwordSchema = z.string().min(PASSWORD_MIN_LENGTH, `At least ${PASSWORD_MIN_LENGTH} characters`).max(256);
export const newUserSchema = z.object({
  email: emailSchema,
  name: z.string().trim().min(1, "Enter a name").max(100),
  role: z.enum(ROLES, { message: "Choose a role" }),
});

/** A password to hand over once; long enough that it never needs to be "strong" by rules. */
export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

export async function createLocalUser(db: Db, input: { email: string; name: string; role: Role; password: string }) {
  const email = emailSchema.parse(input.email);
  passwordSchema.parse(input.password);
  const existing = await db.user.findUnique({ where: { email } });
  if (existing) throw new Error(`a user with email ${email} already exists`);
  const id = randomUUID();
  const password = await hashPassword(input.password);
  await db.$transaction([
    db.user.create({ data: { id, email, name: input.name, role: input.role, emailVerified: true } }),
    // Better Auth's credential account: providerId "credential", accountId = user id.
    db.account.create({ data: { id: randomUUID(), accountId: id, providerId: "credential", userId: id, password } }),
  ]);
  return { id, email, name: input.name, role: input.role };
}

export async function revokeSessions(db: Db, userId: string): Promise<number> {
  const { count } = await db.session.deleteMany({ where: { userId } });
  return count;
}

export async function setUserRole(db: Db, userId: string, role: Role): Promise<void> {
  await db.user.update({ where: { id: userId }, data: { role } });
  // Sessions carry no role (it is read per request), but a demotion should also end what was open.
  await revokeSessions(db, userId);
}

export async function setUserDisabled(db: Db, userId: string, disabled: boolean): Promise<void> {
  await db.user.update({ where: { id: userId }, data: { disabled } });
  if (disabled) await revokeSessions(db, userId);
}

export interface FirstAdmin {
  email: string;
  /** set only when the console generated it; shown once, never stored in clear */
  generatedPassword?: string;
}

/**
 * First start: when there is no user at all, create an admin. The password comes from CONSOLE_ADMIN_PASSWORD or is
 * generated and printed once. Nothing ships with a default password.
 */
export async function ensureFirstAdmin(db: Db, env: Record<string, string | undefined> = process.env): Promise<FirstAdmin | null> {
  if ((await db.user.count()) > 0) return null;
  const email = emailSchema.parse(env.CONSOLE_ADMIN_EMAIL ?? "admin@console.local");
  const fromEnv = env.CONSOLE_ADMIN_PASSWORD;
  const password = fromEnv ?? generatePassword();
  if (fromEnv) passwordSchema.parse(fromEnv);
  try {
    await createLocalUser(db, { email, name: "Administrator", role: "admin", password });
  } catch (error) {
    // Two processes starting at once: the other one created it.
    if ((await db.user.count()) > 0) return null;
    throw error;
  }
  return fromEnv ? { email } : { email, generatedPassword: password };
}

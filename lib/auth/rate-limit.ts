/**
 * Sign-in throttling, kept in the database so it holds across restarts and replicas: at most
 * MAX_FAILURES_PER_ACCOUNT failed attempts per account and MAX_FAILURES_PER_IP per address in WINDOW_MS.
 */
import type { Db } from "../db/client";

export const WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const MAX_FAILURES_PER_IP = 20;

export async function signInBlocked(db: Db, email: string, ip: string, now = new Date()): Promise<{ blocked: boolean; retryAfterSeconds: number }> {
  const since = new Date(now.getTime() - WINDOW_MS);
  const [byAccount, byIp] = await Promise.all([
    db.loginAttempt.findMany({ where: { email, ok: false, at: { gte: since } }, orderBy: { at: "asc" }, select: { at: true } }),
    db.loginAttempt.findMany({ where: { ip, ok: false, at: { gte: since } }, orderBy: { at: "asc" }, select: { at: true } }),
  ]);
  const over = (list: { at: Date }[], max: number) => (list.length >= max ? list[list.length - max]!.at.getTime() + WINDOW_MS : 0);
  const until = Math.max(over(byAccount, MAX_FAILURES_PER_ACCOUNT), over(byIp, MAX_FAILURES_PER_IP));
  return until > now.getTime() ? { blocked: true, retryAfterSeconds: Math.ceil((until - now.getTime()) / 1000) } : { blocked: false, retryAfterSeconds: 0 };
}

export async function recordSignInAttempt(db: Db, email: string, ip: string, ok: boolean): Promise<void> {
  await db.loginAttempt.create({ data: { email, ip, ok } });
}

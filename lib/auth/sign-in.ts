/**
 * Password sign-in with throttling and an audit record for every attempt (success, failure, blocked).
 * Errors shown to the visitor never say whether the account exists.
 */
import "server-only";
import { appendAudit } from "../audit/trail";
import { getDb } from "../db/client";
import { clientIp, getRequestHeaders, getRequestId } from "../http/request-context";
import { getAuth } from "./auth";
import { recordSignInAttempt, signInBlocked } from "./rate-limit";

export type SignInOutcome = { ok: true } | { ok: false; error: string; retryAfterSeconds?: number };

export async function signInWithPassword(email: string, password: string): Promise<SignInOutcome> {
  const db = getDb();
  const headers = await getRequestHeaders();
  const ip = clientIp(headers);
  const requestId = await getRequestId();
  const normalized = email.trim().toLowerCase();

  const limit = await signInBlocked(db, normalized, ip);
  if (limit.blocked) {
    await appendAudit(db, { actorName: normalized, actorRole: "anonymous", action: "auth.sign_in", target: `user:${normalized}`, params: { ip, reason: "rate_limited" }, outcome: "denied", requestId });
    return { ok: false, error: `Too many failed sign-ins. Try again in ${Math.ceil(limit.retryAfterSeconds / 60)} minute(s).`, retryAfterSeconds: limit.retryAfterSeconds };
  }

  let userId: string | null = null;
  let role = "anonymous";
  try {
    const result = await getAuth().api.signInEmail({ body: { email: normalized, password }, headers });
    const user = result.user as typeof result.user & { role?: string; disabled?: boolean };
    if (user.disabled) {
      // The password was right but the account is disabled: end the session Better Auth just opened.
      await getDb().session.deleteMany({ where: { userId: user.id } });
      throw new Error("disabled");
    }
    userId = user.id;
    role = user.role ?? "anonymous";
  } catch {
    await recordSignInAttempt(db, normalized, ip, false);
    await appendAudit(db, { actorName: normalized, actorRole: "anonymous", action: "auth.sign_in", target: `user:${normalized}`, params: { ip }, outcome: "failure", requestId });
    return { ok: false, error: "Email or password is incorrect." };
  }
  await recordSignInAttempt(db, normalized, ip, true);
  await appendAudit(db, { actorId: userId, actorName: normalized, actorRole: role, action: "auth.sign_in", target: `user:${normalized}`, params: { ip }, outcome: "success", requestId });
  return { ok: true };
}

export async function signOutCurrentSession(actor: { id: string; email: string; role: string }): Promise<void> {
  const headers = await getRequestHeaders();
  await getAuth().api.signOut({ headers });
  await appendAudit(getDb(), { actorId: actor.id, actorName: actor.email, actorRole: actor.role, action: "auth.sign_out", target: `user:${actor.email}`, outcome: "success", requestId: await getRequestId() });
}

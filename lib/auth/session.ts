/**
 * The server-side data-access layer for "who is asking and may they". Every page, server action and route handler
 * goes through `requirePermission` (or `requirePagePermission` for pages); hiding a button is never the check.
 */
import "server-only";
import { redirect } from "next/navigation";
import { cache } from "react";
import { getRequestHeaders } from "../http/request-context";
import { getAuth } from "./auth";
import { can, isRole, type Permission, type Role } from "./permissions";

export interface CurrentUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  sessionId: string;
}

export class AuthorizationError extends Error {
  constructor(
    readonly kind: "unauthenticated" | "forbidden",
    readonly permission?: Permission,
  ) {
    super(kind === "unauthenticated" ? "Sign in to continue." : `Your role does not allow this (${permission}).`);
    this.name = "AuthorizationError";
  }
}

async function loadCurrentUser(headers: Headers): Promise<CurrentUser | null> {
  const result = await getAuth().api.getSession({ headers });
  if (!result) return null;
  const user = result.user as typeof result.user & { role?: unknown; disabled?: unknown };
  // Fail closed: a disabled account or a role this version does not know is treated as signed out.
  if (user.disabled === true || !isRole(user.role)) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role, sessionId: result.session.id };
}

/** The signed-in user of this request, or null. Cached per request (React cache). */
export const getCurrentUser = cache(async (): Promise<CurrentUser | null> => loadCurrentUser(await getRequestHeaders()));

export async function requireUser(): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) throw new AuthorizationError("unauthenticated");
  return user;
}

export async function requirePermission(permission: Permission): Promise<CurrentUser> {
  const user = await requireUser();
  if (!can(user.role, permission)) throw new AuthorizationError("forbidden", permission);
  return user;
}

/** For pages: redirects anonymous visitors to sign-in and shows the forbidden page to a role without access. */
export async function requirePagePermission(permission: Permission): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  if (!can(user.role, permission)) redirect(`/forbidden?need=${encodeURIComponent(permission)}`);
  return user;
}

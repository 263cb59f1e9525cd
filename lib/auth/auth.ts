/**
 * Better Auth, configured for the console: local accounts (Argon2id) for the embedded default, an OIDC provider
 * (Okta, AWS IAM Identity Center, ...) when OIDC_* is set. Sessions live in the database (server-side expiry and
 * revocation); the cookie is httpOnly, SameSite=Lax, and Secure whenever the console's URL is https.
 * Self-service sign-up is off: admins create accounts.
 */
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { nextCookies } from "better-auth/next-js";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import { databaseKind } from "../config";
import { getAuthDb } from "../db/client";
import { hashPassword, PASSWORD_MIN_LENGTH, verifyPassword } from "./password";
import { isRole, type Role } from "./permissions";
import { authSecret } from "./secret";

export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export function consoleBaseUrl(): string {
  return (process.env.CONSOLE_URL ?? process.env.BETTER_AUTH_URL ?? `http://localhost:${process.env.PORT ?? 3000}`).replace(/\/$/, "");
}

/** OIDC users get the role their groups map to (OIDC_ROLE_MAP="okta-admins=admin,sre=oncall"); no match, no access. */
export function roleFromClaims(claims: Record<string, unknown>, mapping = process.env.OIDC_ROLE_MAP ?? "", claimName = process.env.OIDC_ROLE_CLAIM ?? "groups"): Role | null {
  const raw = claims[claimName];
  const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? [raw] : [];
  const rank: Role[] = ["admin", "operator", "oncall", "auditor"];
  const granted = mapping
    .split(",")
    .map((pair) => pair.split("=").map((part) => part.trim()))
    .filter(([group, role]) => group && isRole(role) && groups.includes(group))
    .map(([, role]) => role as Role);
  return rank.find((role) => granted.includes(role)) ?? null;
}

function oidcPlugins() {
  const issuer = process.env.OIDC_ISSUER;
  if (!issuer || !process.env.OIDC_CLIENT_ID || !process.env.OIDC_CLIENT_SECRET) return [];
  return [
    genericOAuth({
      config: [
        {
          providerId: "oidc",
          discoveryUrl: `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
          clientId: process.env.OIDC_CLIENT_ID,
          clientSecret: process.env.OIDC_CLIENT_SECRET,
          scopes: ["openid", "email", "profile", "groups"],
          pkce: true,
          mapProfileToUser: (profile) => {
            const role = roleFromClaims(profile as Record<string, unknown>);
            // Fail closed: an identity the mapping does not grant a role is not let in with a default one.
            if (!role) throw new Error("no console role is mapped to this identity's groups");
            return { role };
          },
        },
      ],
    }),
  ];
}

function createAuth() {
  const baseURL = consoleBaseUrl();
  return betterAuth({
    appName: "Acra Nitro Console",
    baseURL,
    secret: authSecret(),
    database: prismaAdapter(getAuthDb(), { provider: databaseKind() }),
    telemetry: { enabled: false },
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: PASSWORD_MIN_LENGTH,
      maxPasswordLength: 256,
      password: { hash: hashPassword, verify: verifyPassword },
    },
    session: {
      expiresIn: SESSION_TTL_SECONDS,
      updateAge: 60 * 60,
      // No cookie cache: every request checks the session row, so revocation takes effect at once.
    },
    user: {
      additionalFields: {
        role: { type: "string", required: true, defaultValue: "auditor", input: false },
        disabled: { type: "boolean", required: false, defaultValue: false, input: false },
      },
    },
    advanced: {
      cookiePrefix: "console",
      useSecureCookies: baseURL.startsWith("https://"),
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax" },
    },
    rateLimit: { enabled: true, window: 60, max: 60, customRules: { "/sign-in/*": { window: 60, max: 10 } } },
    plugins: [...oidcPlugins(), nextCookies()],
  });
}

export type ConsoleAuth = ReturnType<typeof createAuth>;

const globalForAuth = globalThis as unknown as { consoleAuth?: ConsoleAuth };

export function getAuth(): ConsoleAuth {
  globalForAuth.consoleAuth ??= createAuth();
  return globalForAuth.consoleAuth;
}

export function oidcEnabled(): boolean {
  return Boolean(process.env.OIDC_ISSUER && process.env.OIDC_CLIENT_ID && process.env.OIDC_CLIENT_SECRET);
}

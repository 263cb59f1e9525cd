/**
 * Better Auth's HTTP endpoints, for what needs a browser redirect (OIDC sign-in and callback) and session reads.
 * Password sign-in and sign-up are refused here: password sign-in goes through the console's own form (throttled and
 * audited, lib/auth/sign-in.ts) and accounts are created by admins only.
 */
import { toNextJsHandler } from "better-auth/next-js";
import { NextResponse } from "next/server";
import { getAuth } from "@/lib/auth/auth";

export const PUBLIC_ROUTE = true;

const REFUSED = /\/api\/auth\/(sign-in\/email|sign-up|change-email|update-user|delete-user|reset-password|request-password-reset|forget-password|set-password)/;

function guard(method: "GET" | "POST") {
  return async (request: Request) => {
    if (REFUSED.test(new URL(request.url).pathname)) {
      return NextResponse.json({ error: "not available; use the console's sign-in page" }, { status: 404 });
    }
    return toNextJsHandler(getAuth())[method](request);
  };
}

export const GET = guard("GET");
export const POST = guard("POST");

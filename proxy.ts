/**
 * Runs before every request: a fresh CSP nonce (Next.js puts it on its own scripts when it finds the CSP on the
 * request), a request id for logs and the audit trail, and the headers that depend on the host (HSTS outside
 * localhost). Static headers live in next.config.js.
 */
import { NextResponse, type NextRequest } from "next/server";

function isLocalHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "127.0.0.1" || name === "::1" || name.endsWith(".localhost");
}

export function contentSecurityPolicy(nonce: string, { dev, local }: { dev: boolean; local: boolean }): string {
  return [
    "default-src 'self'",
    // 'strict-dynamic': only scripts carrying the nonce (and what they load) run; no inline script without it.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // Charts set style attributes; styles cannot run code, scripts are what the nonce protects.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(local ? [] : ["upgrade-insecure-requests"]),
  ].join("; ");
}

export function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  const requestId = crypto.randomUUID();
  const local = isLocalHost(request.headers.get("host") ?? "");
  const csp = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV !== "production", local });

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("x-request-id", requestId);
  requestHeaders.set("content-security-policy", csp);

  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", csp);
  response.headers.set("X-Request-Id", requestId);
  if (!local) response.headers.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  return response;
}

export const config = {
  matcher: [{ source: "/((?!_next/static|_next/image|favicon.ico|robots.txt).*)" }],
};

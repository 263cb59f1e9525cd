/**
 * Where the server code finds the current request's headers. Inside Next.js that is `headers()`; scripts and tests
 * that drive server actions and route handlers directly run them inside `runWithRequest`, so the same data-access
 * code (and the same authorization checks) run everywhere.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

interface RequestStore {
  headers: Headers;
}

const storage = new AsyncLocalStorage<RequestStore>();

export function runWithRequest<T>(headers: Headers, fn: () => Promise<T>): Promise<T> {
  return storage.run({ headers }, fn);
}

export async function getRequestHeaders(): Promise<Headers> {
  const store = storage.getStore();
  if (store) return store.headers;
  const { headers } = await import("next/headers");
  return new Headers(await headers());
}

/** The id proxy.ts gave this request (also returned to the browser as X-Request-Id), or a new one. */
export async function getRequestId(): Promise<string> {
  const headers = await getRequestHeaders().catch(() => new Headers());
  const id = headers.get("x-request-id");
  return id && /^[A-Za-z0-9-]{8,64}$/.test(id) ? id : randomUUID();
}

/** The client address as the first trusted proxy saw it; "unknown" when there is none. */
export function clientIp(headers: Headers): string {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || headers.get("x-real-ip") || "unknown";
}

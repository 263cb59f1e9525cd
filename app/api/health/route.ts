/**
 * Liveness and database reachability, for load balancers and the lab. Public on purpose: it says only whether
 * the console and its database answer, nothing about the fleet.
 */
import { NextResponse } from "next/server";
import { databaseKind } from "@/lib/config";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";
/** Marks this handler as deliberately public for the authorization test (lib/auth/authorization.test.ts). */
export const PUBLIC_ROUTE = true;

export async function GET() {
  const started = Date.now();
  try {
    await getDb().$queryRawUnsafe("SELECT 1");
    return NextResponse.json({ status: "ok", database: { kind: databaseKind(), reachable: true, latencyMs: Date.now() - started } });
  } catch {
    return NextResponse.json({ status: "degraded", database: { kind: databaseKind(), reachable: false } }, { status: 503 });
  }
}

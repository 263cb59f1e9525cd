/**
 * The raw document download, called as Next.js calls it (a Request and params) with real sessions: exactly the
 * stored bytes as application/cbor with a file name, 401/403 shapes for refusals, and no way to read another
 * enclave's document through this enclave's URL.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/test/db";
import { runWithRequest } from "@/lib/http/request-context";

let test: TestDatabase;
let cookie: string;
const ENCLAVE = "i-0123456789abcdef0-enc0123456789abcdef";
const BYTES = Buffer.from([0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0x00, 0x0d, 0x0a, 0xff]);
const SHA = "1".repeat(64);
const OTHER_SHA = "2".repeat(64);

beforeAll(async () => {
  test = await createTestDatabase("sqlite");
  process.env.DATABASE_URL = test.url;
  process.env.CONSOLE_DATA_DIR = path.dirname(test.url.replace(/^file:/, ""));
  const { createLocalUser } = await import("@/lib/auth/users");
  const { getAuth } = await import("@/lib/auth/auth");
  await createLocalUser(test.db, { email: "auditor@route.test", name: "auditor", role: "auditor", password: "correct-horse-battery" });
  const response = await getAuth().api.signInEmail({ body: { email: "auditor@route.test", password: "correct-horse-battery" }, asResponse: true });
  cookie = /(console\.session_token=[^;]+)/.exec(response.headers.get("set-cookie") ?? "")![1]!;

  await test.db.host.create({ data: { id: "h1", name: "h1", region: "eu-west-1", instanceId: "i-0123456789abcdef0", agentUrl: "https://127.0.0.1:1" } });
  await test.db.enclave.create({ data: { id: ENCLAVE, hostId: "h1", state: "RUNNING" } });
  await test.db.attestationDocument.create({ data: { sha256: SHA, bytes: BYTES, size: BYTES.length } });
  await test.db.attestationDocument.create({ data: { sha256: OTHER_SHA, bytes: Buffer.from("other enclave"), size: 13 } });
  const result = (enclaveId: string, docSha256: string, at: string) =>
    test.db.attestationResult.create({
      data: { at: new Date(at), enclaveId, hostId: "h1", docSha256, nonce: "00", state: "trusted", trusted: true, validAtIssuance: true, fresh: true, matchesPolicy: true, reasons: "[]", policyHash: "p" },
    });
  await result(ENCLAVE, SHA, "2026-02-03T04:05:06.007Z");
  await result("i-other-enc1", OTHER_SHA, "2026-02-03T04:05:07.000Z");
});

afterAll(async () => {
  await test.drop();
});

async function get(query = "", signedIn = true, enclaveId = ENCLAVE): Promise<Response> {
  const { GET } = await import("./route");
  const headers = new Headers({ "x-forwarded-for": "203.0.113.7" });
  if (signedIn) headers.set("cookie", cookie);
  return runWithRequest(headers, () => GET(new Request(`http://localhost/attestation/${encodeURIComponent(enclaveId)}/document${query}`, { headers }), { params: Promise.resolve({ enclaveId: encodeURIComponent(enclaveId) }) }));
}

describe("GET /attestation/[enclaveId]/document", () => {
  it("returns the stored bytes untouched as application/cbor with a file name", async () => {
    const response = await get();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/cbor");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="attestation-${ENCLAVE}-2026-02-03T04-05-06-007Z.cbor"`);
    expect(response.headers.get("x-content-sha256")).toBe(SHA);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(BYTES);
  });

  it("refuses anonymous callers with 401 and says why", async () => {
    const response = await get("", false);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "unauthenticated" });
  });

  it("does not hand out another enclave's document, and checks the sha256 parameter", async () => {
    expect((await get(`?sha256=${OTHER_SHA}`)).status).toBe(404);
    expect((await get(`?sha256=${SHA}`)).status).toBe(200);
    expect((await get("?sha256=../../etc")).status).toBe(400);
    expect((await get("", true, "i-nobody-enc0")).status).toBe(404);
  });
});

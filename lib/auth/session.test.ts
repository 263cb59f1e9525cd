/**
 * Sessions are checked on the server on every request: expiry, revocation, disabled accounts and unknown roles all
 * end access at once, whatever the browser still holds.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/db";
import { runWithRequest } from "../http/request-context";
import { roleFromClaims } from "./auth";

let test: TestDatabase;

beforeAll(async () => {
  test = await createTestDatabase("sqlite");
  process.env.DATABASE_URL = test.url;
  process.env.CONSOLE_DATA_DIR = path.dirname(test.url.replace(/^file:/, ""));
});

afterAll(async () => {
  await test.drop();
});

async function signedInCookie(email: string, role: "admin" | "operator" | "oncall" | "auditor") {
  const { createLocalUser } = await import("./users");
  const { getAuth } = await import("./auth");
  const user = await createLocalUser(test.db, { email, name: email, role, password: "correct-horse-battery" });
  const response = await getAuth().api.signInEmail({ body: { email, password: "correct-horse-battery" }, asResponse: true });
  const setCookie = response.headers.get("set-cookie") ?? "";
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Lax/i);
  return { user, cookie: /(console\.session_token=[^;]+)/.exec(setCookie)![1]! };
}

async function whoIs(cookie: string) {
  const { getCurrentUser } = await import("./session");
  return runWithRequest(new Headers({ cookie }), () => getCurrentUser());
}

describe("server-side sessions", () => {
  it("recognises a fresh session", async () => {
    const { cookie } = await signedInCookie("fresh@test.local", "oncall");
    expect(await whoIs(cookie)).toMatchObject({ email: "fresh@test.local", role: "oncall" });
  });

  it("refuses an expired session", async () => {
    const { user, cookie } = await signedInCookie("expired@test.local", "auditor");
    await test.db.session.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await whoIs(cookie)).toBeNull();
  });

  it("refuses a revoked session", async () => {
    const { user, cookie } = await signedInCookie("revoked@test.local", "operator");
    await test.db.session.deleteMany({ where: { userId: user.id } });
    expect(await whoIs(cookie)).toBeNull();
  });

  it("treats a disabled account or an unknown role as signed out", async () => {
    const disabled = await signedInCookie("disabled@test.local", "admin");
    await test.db.user.update({ where: { id: disabled.user.id }, data: { disabled: true } });
    expect(await whoIs(disabled.cookie)).toBeNull();
    const odd = await signedInCookie("odd-role@test.local", "admin");
    await test.db.user.update({ where: { id: odd.user.id }, data: { role: "superuser" } });
    expect(await whoIs(odd.cookie)).toBeNull();
  });

  it("refuses a forged cookie", async () => {
    expect(await whoIs("console.session_token=forged.value")).toBeNull();
  });
});

describe("OIDC role mapping", () => {
  const mapping = "sec-admins=admin,sre=oncall,auditors=auditor,platform=operator";

  it("grants the strongest role the identity's groups map to", () => {
    expect(roleFromClaims({ groups: ["sre", "sec-admins"] }, mapping)).toBe("admin");
    expect(roleFromClaims({ groups: ["auditors", "platform"] }, mapping)).toBe("operator");
    expect(roleFromClaims({ groups: "sre" }, mapping)).toBe("oncall");
    expect(roleFromClaims({ roles: ["auditors"] }, mapping, "roles")).toBe("auditor");
  });

  it("grants nothing to an identity without a mapped group (no default role)", () => {
    expect(roleFromClaims({ groups: ["everyone"] }, mapping)).toBeNull();
    expect(roleFromClaims({}, mapping)).toBeNull();
    expect(roleFromClaims({ groups: ["sre"] }, "")).toBeNull();
    expect(roleFromClaims({ groups: ["sre"] }, "sre=root")).toBeNull();
  });
});

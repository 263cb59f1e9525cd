/**
 * Every server action and route handler in app/ is discovered from the source tree (not listed by hand), and
 * each is called anonymously and as every role that lacks its permission: all of them must be refused, on the
 * server, before doing anything.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/db";
import { runWithRequest } from "../http/request-context";
import { can, ROLES, type Permission, type Role } from "./permissions";

const root = path.resolve(__dirname, "../..");

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

const sourceFiles = walk(path.join(root, "app")).filter((file) => /\.(ts|tsx)$/.test(file));
const actionFiles = sourceFiles.filter((file) => /^\s*["']use server["']/.test(fs.readFileSync(file, "utf8")));
const routeFiles = sourceFiles.filter((file) => /\/route\.ts$/.test(file));

interface DiscoveredAction {
  file: string;
  name: string;
  permission: string;
}

/** Reads each exported action's declared permission from its `.metadata({ action, permission })`. */
function discoverActions(): DiscoveredAction[] {
  const found: DiscoveredAction[] = [];
  for (const file of actionFiles) {
    const source = fs.readFileSync(file, "utf8");
    const exports = [...source.matchAll(/export\s+(?:const|async function|function)\s+(\w+)/g)].map((match) => match[1]!);
    for (const name of exports) {
      const declaration = new RegExp(`export const ${name} = (actionClient|publicActionClient)\\s*\\.metadata\\(\\{[^}]*permission:\\s*"([a-z._]+)"`, "s").exec(source);
      // An export that is not built on the action chain would escape authentication and audit: fail loudly.
      if (!declaration) throw new Error(`${path.relative(root, file)}: export ${name} is not declared as actionClient.metadata({ action, permission })`);
      found.push({ file, name, permission: declaration[2]! });
    }
  }
  return found;
}

const PUBLIC_ACTIONS = new Set(["signInAction"]);
const PUBLIC_ROUTES = new Set(["app/api/health/route.ts", "app/api/auth/[...all]/route.ts"]);

let test: TestDatabase;
const cookies = new Map<Role, string>();

beforeAll(async () => {
  test = await createTestDatabase("sqlite");
  process.env.DATABASE_URL = test.url;
  process.env.CONSOLE_DATA_DIR = path.dirname(test.url.replace(/^file:/, ""));
  const { createLocalUser } = await import("./users");
  const { getAuth } = await import("./auth");
  for (const role of ROLES) {
    const email = `${role}@authz.test`;
    await createLocalUser(test.db, { email, name: role, role, password: "correct-horse-battery" });
    const response = await getAuth().api.signInEmail({ body: { email, password: "correct-horse-battery" }, asResponse: true });
    const setCookie = response.headers.get("set-cookie") ?? "";
    const token = /(console\.session_token=[^;]+)/.exec(setCookie)?.[1];
    if (!token) throw new Error(`no session cookie for ${role}`);
    cookies.set(role, token);
  }
});

afterAll(async () => {
  await test.drop();
});

function headersFor(role: Role | null): Headers {
  const headers = new Headers({ "x-forwarded-for": "203.0.113.9", "x-request-id": "authz-test-0001" });
  if (role) headers.set("cookie", cookies.get(role)!);
  return headers;
}

describe("server actions", () => {
  const actions = discoverActions();

  it("finds the actions in the code base", () => {
    expect(actions.length).toBeGreaterThanOrEqual(5);
    expect(actions.map((action) => action.name)).toContain("createUserAction");
  });

  it("has no public action except sign-in", () => {
    const publicOnes = actions.filter((action) => action.permission === "public").map((action) => action.name);
    expect(publicOnes.every((name) => PUBLIC_ACTIONS.has(name))).toBe(true);
  });

  for (const action of discoverActions().filter((candidate) => candidate.permission !== "public")) {
    const label = `${path.relative(root, action.file)}#${action.name} (${action.permission})`;
    it(`${label}: refused for anonymous and for every role without the permission`, async () => {
      const mod = (await import(action.file)) as Record<string, (input?: unknown) => Promise<{ serverError?: string; data?: unknown }>>;
      const fn = mod[action.name]!;
      const before = await test.db.auditRecord.count({ where: { outcome: "denied" } });

      const anonymous = await runWithRequest(headersFor(null), () => fn({}));
      expect(anonymous.serverError).toBe("Sign in to continue.");
      expect(anonymous.data).toBeUndefined();

      const lacking = action.permission === "authenticated" ? [] : ROLES.filter((role) => !can(role, action.permission as Permission));
      for (const role of lacking) {
        const result = await runWithRequest(headersFor(role), () => fn({}));
        expect(result.serverError, `${role} must be refused`).toMatch(/^Your role does not allow this/);
        expect(result.data).toBeUndefined();
      }
      // Each refusal left a "denied" record in the audit trail.
      expect(await test.db.auditRecord.count({ where: { outcome: "denied" } })).toBe(before + 1 + lacking.length);
    });
  }
});

describe("route handlers", () => {
  it("finds the route handlers and only the known ones are public", () => {
    expect(routeFiles.length).toBeGreaterThanOrEqual(2);
    for (const file of routeFiles) {
      const source = fs.readFileSync(file, "utf8");
      if (/export const PUBLIC_ROUTE = true/.test(source)) expect(PUBLIC_ROUTES.has(path.relative(root, file))).toBe(true);
    }
  });

  for (const file of routeFiles.filter((candidate) => !PUBLIC_ROUTES.has(path.relative(root, candidate)))) {
    it(`${path.relative(root, file)}: refused for anonymous and for roles without the permission`, async () => {
      const source = fs.readFileSync(file, "utf8");
      const permission = /requirePermission\("([a-z._]+)"\)/.exec(source)?.[1];
      // A route without a declared permission check would be open: fail loudly.
      expect(permission, "route handlers must call requirePermission(...)").toBeTruthy();
      const mod = (await import(file)) as Record<string, (request: Request, context: unknown) => Promise<Response>>;
      const params = Promise.resolve(new Proxy({}, { get: () => "x" }));
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((name) => typeof mod[name] === "function")) {
        const call = (role: Role | null) =>
          runWithRequest(headersFor(role), () => mod[method]!(new Request(`http://localhost/test`, { method, headers: headersFor(role) }), { params }));
        expect((await call(null)).status).toBe(401);
        for (const role of ROLES.filter((candidate) => !can(candidate, permission as Permission))) {
          expect((await call(role)).status, `${method} as ${role}`).toBe(403);
        }
      }
    });
  }
});

describe("public endpoints", () => {
  it("the health endpoint tells only whether the database answers", async () => {
    const { GET } = await import("../../app/api/health/route");
    const body = (await (await GET()).json()) as Record<string, unknown>;
    expect(body).toEqual({ status: "ok", database: { kind: "sqlite", reachable: true, latencyMs: expect.any(Number) } });
  });
});

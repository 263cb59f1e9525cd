import { describe, expect, it } from "vitest";
import { can, PERMISSIONS, ROLE_PERMISSIONS, ROLES } from "./permissions";

describe("permission table", () => {
  it("gives nothing to anonymous or unknown roles", () => {
    for (const permission of PERMISSIONS) {
      expect(can(null, permission)).toBe(false);
      expect(can(undefined, permission)).toBe(false);
      expect(can("Admin", permission)).toBe(false);
      expect(can("root", permission)).toBe(false);
    }
  });

  it("matches the roles the issue describes", () => {
    expect(can("operator", "keys.rotate")).toBe(true);
    expect(can("operator", "enclaves.redeploy")).toBe(true);
    expect(can("operator", "users.manage")).toBe(false);
    expect(can("oncall", "alerts.acknowledge")).toBe(true);
    expect(can("oncall", "keys.rotate")).toBe(false);
    expect(can("auditor", "evidence.export")).toBe(true);
    expect(can("auditor", "audit.view")).toBe(true);
    expect(can("auditor", "alerts.acknowledge")).toBe(false);
    expect(can("auditor", "keys.rotate")).toBe(false);
    expect(can("admin", "users.manage")).toBe(true);
    expect(can("admin", "settings.manage")).toBe(true);
  });

  it("lets auditors change nothing but evidence exports", () => {
    const changing = ROLE_PERMISSIONS.auditor.filter((permission) => !permission.endsWith(".view"));
    expect(changing).toEqual(["evidence.export"]);
  });

  it("only lists permissions that exist, without duplicates", () => {
    for (const role of ROLES) {
      const list = ROLE_PERMISSIONS[role];
      expect(new Set(list).size).toBe(list.length);
      for (const permission of list) expect(PERMISSIONS).toContain(permission);
    }
  });
});

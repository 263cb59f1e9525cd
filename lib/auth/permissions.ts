/**
 * Roles and permissions: the one table that says who may do what. Pure (no I/O) so the UI, the server-side checks
 * and the tests all read the same source. Anonymous visitors have no role and therefore no permission.
 */
export const ROLES = ["admin", "operator", "oncall", "auditor"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "fleet.view",
  "attestation.view",
  "attestation.run",
  "releases.import",
  "releases.approve",
  "policy.manage",
  "kms.view",
  "keys.rotate",
  "enclaves.redeploy",
  "logs.view",
  "alerts.view",
  "alerts.acknowledge",
  "operations.view",
  "evidence.view",
  "evidence.export",
  "audit.view",
  "users.manage",
  "settings.manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const VIEW_ALL: Permission[] = [
  "fleet.view",
  "attestation.view",
  "kms.view",
  "logs.view",
  "alerts.view",
  "operations.view",
  "evidence.view",
];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  // Admins manage people and settings and can do everything an operator can.
  admin: [...VIEW_ALL, "attestation.run", "releases.import", "releases.approve", "policy.manage", "keys.rotate", "enclaves.redeploy", "alerts.acknowledge", "evidence.export", "audit.view", "users.manage", "settings.manage"],
  operator: [...VIEW_ALL, "attestation.run", "releases.import", "releases.approve", "keys.rotate", "enclaves.redeploy", "alerts.acknowledge"],
  // On-call engineers see everything operational and acknowledge alerts; they change nothing else.
  oncall: [...VIEW_ALL, "attestation.run", "alerts.acknowledge"],
  // Auditors are read-only, plus exporting evidence and reading the audit trail.
  auditor: [...VIEW_ALL, "evidence.export", "audit.view"],
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Fails closed: an unknown role (a typo in the database, a role from a newer version) has no permission. */
export function can(role: string | null | undefined, permission: Permission): boolean {
  if (!isRole(role)) return false;
  return ROLE_PERMISSIONS[role].includes(permission);
}

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  admin: "Manages users and settings; can do everything an operator can",
  operator: "Triggers key rotation, redeploys and attestation; approves releases",
  oncall: "Sees everything, runs attestation and acknowledges alerts",
  auditor: "Read-only; reads the audit trail and exports evidence",
};

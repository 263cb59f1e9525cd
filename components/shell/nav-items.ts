import type { Permission } from "@/lib/auth/permissions";

export interface NavItem {
  href: string;
  label: string;
  permission: Permission;
}

/** The console's sections, in the order of the sidebar. A section shows only to roles that may open it. */
export const NAV_ITEMS: NavItem[] = [
  { href: "/", label: "Overview", permission: "fleet.view" },
  { href: "/enclaves", label: "Enclaves", permission: "fleet.view" },
  { href: "/attestation", label: "Attestation", permission: "attestation.view" },
  { href: "/kms", label: "KMS keys", permission: "kms.view" },
  { href: "/logs", label: "Acra logs", permission: "logs.view" },
  { href: "/alerts", label: "Alerts", permission: "alerts.view" },
  { href: "/operations", label: "Operations", permission: "operations.view" },
  { href: "/evidence", label: "Evidence", permission: "evidence.view" },
  { href: "/audit", label: "Audit", permission: "audit.view" },
  { href: "/settings", label: "Settings", permission: "users.manage" },
];

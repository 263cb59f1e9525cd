/** Audit trail reads for the Audit page (admins and auditors). */
import "server-only";
import { requirePermission } from "../auth/session";
import { getDb } from "../db/client";
import { verifyAuditTrail } from "./trail";

export interface AuditFilters {
  actor?: string;
  action?: string;
  outcome?: string;
  from?: Date;
  to?: Date;
  page: number;
}

export const AUDIT_PAGE_SIZE = 50;

export async function listAuditRecords(filters: AuditFilters) {
  await requirePermission("audit.view");
  const where = {
    ...(filters.actor ? { actorName: { contains: filters.actor } } : {}),
    ...(filters.action ? { action: { startsWith: filters.action } } : {}),
    ...(filters.outcome ? { outcome: filters.outcome } : {}),
    ...(filters.from || filters.to ? { at: { ...(filters.from ? { gte: filters.from } : {}), ...(filters.to ? { lte: filters.to } : {}) } } : {}),
  };
  const db = getDb();
  const [records, total] = await Promise.all([
    db.auditRecord.findMany({ where, orderBy: { seq: "desc" }, take: AUDIT_PAGE_SIZE, skip: (filters.page - 1) * AUDIT_PAGE_SIZE }),
    db.auditRecord.count({ where }),
  ]);
  return { records, total };
}

export async function auditChainStatus() {
  await requirePermission("audit.view");
  return verifyAuditTrail(getDb());
}

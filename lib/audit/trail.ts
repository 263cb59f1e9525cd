/**
 * Append-only, hash-chained audit trail stored in AuditRecord. Every state change in the console calls
 * `appendAudit`; the database refuses UPDATE and DELETE on the table (triggers in the migrations).
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client";
import { canonicalJson } from "./canonical-json";
import { createChainVerifier, GENESIS_HASH, hashAuditRecord, redactParams, type ChainBreak, type ChainedAuditRecord } from "./chain";

export interface AuditEntry {
  actorId?: string | null;
  actorName: string;
  actorRole: string;
  action: string;
  target?: string;
  params?: unknown;
  outcome: "success" | "failure" | "denied" | (string & {});
  requestId?: string;
  at?: Date;
}

const MAX_ATTEMPTS = 8;

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : "";
  return code === "P2002" || /unique|UNIQUE constraint|duplicate key/i.test(message);
}

/**
 * Appends one record. Two writers racing for the same seq collide on the primary key; the loser re-reads the head
 * and tries again, so the chain never forks.
 */
export async function appendAudit(db: Db, entry: AuditEntry): Promise<ChainedAuditRecord> {
  const params = canonicalJson(redactParams(entry.params ?? {}));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.$transaction(async (tx) => {
        const head = await tx.auditRecord.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
        const fields = {
          seq: (head?.seq ?? 0) + 1,
          at: entry.at ?? new Date(),
          actorId: entry.actorId ?? null,
          actorName: entry.actorName,
          actorRole: entry.actorRole,
          action: entry.action,
          target: entry.target ?? "",
          params,
          outcome: entry.outcome,
          requestId: entry.requestId ?? randomUUID(),
        };
        const prevHash = head?.hash ?? GENESIS_HASH;
        const record = { ...fields, prevHash, hash: hashAuditRecord(prevHash, fields) };
        await tx.auditRecord.create({ data: record });
        return record;
      });
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isUniqueViolation(error) && !/SQLITE_BUSY|database is locked|could not serialize/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 10));
    }
  }
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  firstBreak: ChainBreak | null;
  headHash: string;
}

/** Walks the whole trail in pages and reports the first broken link. */
export async function verifyAuditTrail(db: Db, pageSize = 1000): Promise<ChainReport> {
  const verifier = createChainVerifier();
  let after = 0;
  for (;;) {
    const page = await db.auditRecord.findMany({ where: { seq: { gt: after } }, orderBy: { seq: "asc" }, take: pageSize });
    for (const record of page) {
      const broken = verifier.push(record);
      if (broken) return { ok: false, checked: verifier.checked, firstBreak: broken, headHash: verifier.lastHash };
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.seq;
  }
  return { ok: true, checked: verifier.checked, firstBreak: null, headHash: verifier.lastHash };
}

import Link from "next/link";
import type { SearchParams } from "nuqs/server";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { auditChainStatus, AUDIT_PAGE_SIZE, listAuditRecords } from "@/lib/audit/audit-data";
import { requirePagePermission } from "@/lib/auth/session";
import { auditSearchParamsCache } from "./search-params";

export const metadata = { title: "Audit" };

export default async function AuditPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requirePagePermission("audit.view");
  const filters = auditSearchParamsCache.parse(await searchParams);
  const page = Math.max(1, filters.page);
  const [{ records, total }, chain] = await Promise.all([
    listAuditRecords({ actor: filters.actor || undefined, action: filters.action || undefined, outcome: filters.outcome ?? undefined, from: filters.from ?? undefined, to: filters.to ?? undefined, page }),
    auditChainStatus(),
  ]);
  const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const link = (target: number) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ actor: filters.actor, action: filters.action, outcome: filters.outcome ?? "", from: filters.from?.toISOString().slice(0, 10) ?? "", to: filters.to?.toISOString().slice(0, 10) ?? "" })) {
      if (value) params.set(key, value);
    }
    params.set("page", String(target));
    return `/audit?${params}`;
  };
  return (
    <>
      <PageHeader
        title="Audit trail"
        description="Every state change, append-only and hash-chained: each record holds the SHA-256 of the one before."
        actions={
          <div data-testid="chain-status">
            {chain.ok ? (
              <StatusBadge tone="ok">chain intact · {chain.checked} records</StatusBadge>
            ) : (
              <StatusBadge tone="bad">
                chain broken at record {chain.firstBreak?.seq} ({chain.firstBreak?.reason})
              </StatusBadge>
            )}
          </div>
        }
      />
      <Card>
        <form className="mb-4 flex flex-wrap items-end gap-2" method="get">
          <input name="actor" defaultValue={filters.actor} placeholder="Actor" aria-label="Actor" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-3 py-1.5 text-sm" />
          <input name="action" defaultValue={filters.action} placeholder="Action (prefix)" aria-label="Action" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-3 py-1.5 text-sm" />
          <select name="outcome" defaultValue={filters.outcome ?? ""} aria-label="Outcome" className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm">
            <option value="">any outcome</option>
            {["success", "failure", "denied", "invalid_input"].map((outcome) => (
              <option key={outcome}>{outcome}</option>
            ))}
          </select>
          <label className="text-xs muted">
            from <input type="date" name="from" defaultValue={filters.from?.toISOString().slice(0, 10)} className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1 text-sm" />
          </label>
          <label className="text-xs muted">
            to <input type="date" name="to" defaultValue={filters.to?.toISOString().slice(0, 10)} className="rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1 text-sm" />
          </label>
          <button className="rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]">Filter</button>
        </form>
        {records.length === 0 ? (
          <EmptyState title="No record matches these filters" />
        ) : (
          <Table data-testid="audit-table">
            <thead>
              <tr>
                <Th>#</Th>
                <Th>Time (UTC)</Th>
                <Th>Actor</Th>
                <Th>Role</Th>
                <Th>Action</Th>
                <Th>Target</Th>
                <Th>Outcome</Th>
                <Th>Parameters</Th>
                <Th>Request</Th>
              </tr>
            </thead>
            <tbody>
              {records.map((record) => (
                <tr key={record.seq}>
                  <Td className="font-mono text-xs" title={`hash ${record.hash}\nprev ${record.prevHash}`}>
                    {record.seq}
                  </Td>
                  <Td className="whitespace-nowrap text-xs">{record.at.toISOString().replace("T", " ").slice(0, 19)}</Td>
                  <Td>{record.actorName}</Td>
                  <Td className="text-xs">{record.actorRole}</Td>
                  <Td className="font-mono text-xs">{record.action}</Td>
                  <Td className="font-mono text-xs">{record.target}</Td>
                  <Td>
                    <StatusBadge tone={record.outcome === "success" ? "ok" : record.outcome === "denied" ? "bad" : "warn"}>{record.outcome}</StatusBadge>
                  </Td>
                  <Td className="max-w-xs truncate font-mono text-xs" title={record.params}>
                    {record.params === "{}" ? "" : record.params}
                  </Td>
                  <Td className="font-mono text-xs" title={record.requestId}>
                    {record.requestId.slice(0, 8)}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        <nav className="mt-3 flex items-center justify-between text-sm" aria-label="Pages">
          <span className="muted">
            {total} records · page {page} of {pages}
          </span>
          <span className="flex gap-3">
            {page > 1 && <Link href={link(page - 1)}>← Newer</Link>}
            {page < pages && <Link href={link(page + 1)}>Older →</Link>}
          </span>
        </nav>
      </Card>
    </>
  );
}

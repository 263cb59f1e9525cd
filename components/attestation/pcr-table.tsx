import { pcrByteDiff } from "@/lib/attestation/fleet-rules";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";

export interface PcrRow {
  index: number;
  actual: string | null;
  expected: string | null;
  /** what the expectation is, e.g. "release acra-server 1.2", "parent instance i-…" */
  source: string | null;
}

/**
 * The document's PCRs against what was expected, byte by byte: each byte pair that differs is marked on both
 * lines (red on the document, outlined on the expectation), so a one-byte change in 48 is visible at a glance.
 */
export function PcrTable({ rows }: { rows: PcrRow[] }) {
  return (
    <Table data-testid="pcr-table">
      <thead>
        <tr>
          <Th>PCR</Th>
          <Th>Document / expected</Th>
          <Th>Verdict</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const diff = row.expected === null ? null : pcrByteDiff(row.actual, row.expected);
          const differing = diff?.filter((byte) => byte.differs).length ?? 0;
          return (
            <tr key={row.index} data-pcr={row.index}>
              <Td className="font-mono text-xs">PCR{row.index}</Td>
              <Td className="font-mono text-[11px] leading-5">
                <div className="flex flex-wrap" aria-label={`PCR${row.index} in the document`}>
                  {diff
                    ? diff.map((byte, index) => (
                        <span key={index} className={byte.differs ? "rounded-sm bg-red-600 text-white" : undefined} data-differs={byte.differs || undefined}>
                          {byte.actual ?? "··"}
                        </span>
                      ))
                    : (row.actual ?? <span className="muted">absent</span>)}
                </div>
                {diff && (
                  <div className="flex flex-wrap muted" aria-label={`PCR${row.index} expected`}>
                    {diff.map((byte, index) => (
                      <span key={index} className={byte.differs ? "rounded-sm text-red-600 underline decoration-2 dark:text-red-400" : undefined}>
                        {byte.expected ?? "··"}
                      </span>
                    ))}
                  </div>
                )}
                {row.source && <div className="mt-0.5 font-sans text-xs muted">expected from {row.source}</div>}
              </Td>
              <Td>
                {diff === null ? (
                  <span className="text-xs muted">not checked</span>
                ) : differing === 0 ? (
                  <StatusBadge tone="ok">match</StatusBadge>
                ) : (
                  <StatusBadge tone="bad">
                    {differing} of {diff.length} bytes differ
                  </StatusBadge>
                )}
              </Td>
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}

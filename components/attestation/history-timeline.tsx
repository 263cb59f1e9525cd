import { attestationTone } from "@/components/fleet/status";
import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo } from "@/components/ui/time";
import type { Reason } from "@/lib/attestation/types";

export interface HistoryEntry {
  id: number;
  at: Date;
  state: string;
  trusted: boolean;
  pcr0: string | null;
  reasons: Reason[];
  error: string | null;
  releaseLabel: string | null;
  docSha256: string | null;
}

/**
 * Newest first. A state change and a PCR0 change (against the next older document) are called out on the line;
 * consecutive identical results are folded into one line with a count, so a long quiet stretch stays short.
 */
export function HistoryTimeline({ entries, documentHref }: { entries: HistoryEntry[]; documentHref: (sha256: string) => string }) {
  if (entries.length === 0) return <p className="text-sm muted">No attestation yet.</p>;
  const folded: { entry: HistoryEntry; repeats: number; stateChanged: boolean; pcr0Changed: { from: string } | null }[] = [];
  for (let index = 0; index < entries.length; index += 1) {
    const entry = entries[index]!;
    const older = entries.slice(index + 1);
    const previous = older[0];
    const previousPcr0 = older.find((candidate) => candidate.pcr0 !== null)?.pcr0 ?? null;
    const pcr0Changed = entry.pcr0 && previousPcr0 && previousPcr0 !== entry.pcr0 ? { from: previousPcr0 } : null;
    const stateChanged = previous !== undefined && previous.state !== entry.state;
    const last = folded.at(-1);
    const same = last && !last.stateChanged && !last.pcr0Changed && !stateChanged && !pcr0Changed && last.entry.state === entry.state && sameReasons(last.entry, entry);
    if (same) last.repeats += 1;
    else folded.push({ entry, repeats: 1, stateChanged, pcr0Changed });
  }
  return (
    <ol className="relative ml-2 border-l border-[var(--border)] text-sm" data-testid="attestation-history">
      {folded.map(({ entry, repeats, stateChanged, pcr0Changed }) => (
        <li key={entry.id} className="relative mb-3 pl-4">
          <span aria-hidden className={`absolute -left-[5px] top-1.5 h-2.5 w-2.5 rounded-full ${dot(entry.state)}`} />
          <div className="flex flex-wrap items-center gap-2">
            <StatusBadge tone={attestationTone(entry.state)}>{entry.state}</StatusBadge>
            {stateChanged && <span className="text-xs font-semibold">state changed</span>}
            {pcr0Changed && (
              <StatusBadge tone="bad">
                PCR0 changed: {pcr0Changed.from.slice(0, 12)}… → {entry.pcr0!.slice(0, 12)}…
              </StatusBadge>
            )}
            <TimeAgo date={entry.at} />
            {repeats > 1 && <span className="text-xs muted">(and {repeats - 1} more like it before)</span>}
            {entry.releaseLabel && <span className="text-xs muted">release {entry.releaseLabel}</span>}
            {entry.docSha256 && (
              <a className="font-mono text-xs underline" href={documentHref(entry.docSha256)}>
                {entry.docSha256.slice(0, 12)}…
              </a>
            )}
          </div>
          {entry.error && <p className="break-all text-xs text-amber-700 dark:text-amber-400">{entry.error}</p>}
          {entry.reasons.length > 0 && (
            <ul className="break-all text-xs text-red-700 dark:text-red-400">
              {entry.reasons.map((reason, index) => (
                <li key={index}>
                  <code>{reason.code}</code> {reason.message}
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ol>
  );
}

function sameReasons(a: HistoryEntry, b: HistoryEntry): boolean {
  return a.error === b.error && a.reasons.map((reason) => reason.code).join() === b.reasons.map((reason) => reason.code).join();
}

function dot(state: string): string {
  return state === "trusted" ? "bg-green-600" : state === "untrusted" ? "bg-red-600" : state === "stale" ? "bg-amber-500" : "bg-gray-400";
}

import { timeAxisPosition } from "@/lib/attestation/fleet-rules";
import type { ChainCertificate } from "@/lib/attestation/types";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;
const SPAN = 40 * YEAR;
const TICKS: [number, string][] = [
  [-10 * YEAR, "-10 y"],
  [-YEAR, "-1 y"],
  [-30 * DAY, "-30 d"],
  [-DAY, "-1 d"],
  [-HOUR, "-1 h"],
  [0, "now"],
  [HOUR, "+1 h"],
  [DAY, "+1 d"],
  [30 * DAY, "+30 d"],
  [YEAR, "+1 y"],
  [10 * YEAR, "+10 y"],
];

/**
 * Each certificate of the chain as a validity bar on one shared time axis, with "now" (the verification time) and
 * the document's timestamp marked. The axis is symmetric-logarithmic around now, so a 3-hour leaf and a 30-year
 * root are both readable. Green = valid at the document timestamp and at verification time; red = not at one of them.
 */
export function ChainTimeline({ chain, verifiedAt, documentAt }: { chain: ChainCertificate[]; verifiedAt: Date; documentAt: Date | null }) {
  const now = verifiedAt.getTime();
  const pct = (at: number) => `${(timeAxisPosition(at, now, SPAN) * 100).toFixed(3)}%`;
  const markers = (
    <>
      <span aria-hidden className="absolute inset-y-0 w-0.5 bg-amber-500" style={{ left: pct(now) }} />
      {documentAt && <span aria-hidden className="absolute inset-y-0 border-l-2 border-dashed border-blue-600" style={{ left: pct(documentAt.getTime()) }} />}
    </>
  );
  return (
    <figure data-testid="chain-timeline" className="text-xs">
      <div className="grid grid-cols-[minmax(8rem,14rem)_1fr] gap-x-3">
        <div />
        <div className="relative h-5 muted">
          {TICKS.map(([offset, label]) => (
            <span key={label} className="absolute -translate-x-1/2 whitespace-nowrap" style={{ left: pct(now + offset) }}>
              {label}
            </span>
          ))}
        </div>
        {chain.map((cert, index) => {
          const ok = cert.validAtIssuance && cert.validNow;
          const left = timeAxisPosition(cert.notBefore.getTime(), now, SPAN) * 100;
          const right = timeAxisPosition(cert.notAfter.getTime(), now, SPAN) * 100;
          return (
            <div key={`${cert.sha256}-${index}`} className="contents" data-testid="chain-row">
              <div className="min-w-0 py-1.5" title={cert.subject}>
                <div className="font-semibold">{cert.role}</div>
                <div className="truncate font-mono muted">{cert.subject}</div>
              </div>
              <div className="relative my-1.5 rounded bg-[var(--panel-2)]">
                {TICKS.map(([offset, label]) => (
                  <span key={label} aria-hidden className="absolute inset-y-0 w-px bg-[var(--border)]" style={{ left: pct(now + offset) }} />
                ))}
                <span
                  className={`absolute top-1/2 h-3 -translate-y-1/2 rounded ${ok ? "bg-green-600/80" : "bg-red-600/80"}`}
                  style={{ left: `${left}%`, width: `${Math.max(right - left, 0.5)}%` }}
                  title={`${cert.notBefore.toISOString()} → ${cert.notAfter.toISOString()}`}
                  data-valid={ok}
                />
                {markers}
              </div>
            </div>
          );
        })}
      </div>
      <ol className="mt-3 space-y-1">
        {chain.map((cert, index) => (
          <li key={`${cert.sha256}-${index}`} className="flex flex-wrap items-baseline gap-x-2">
            <span className="font-semibold">{cert.role}</span>
            <span className="break-all font-mono">{cert.subject}</span>
            <span className="muted">
              {cert.notBefore.toISOString()} → {cert.notAfter.toISOString()}
              {!cert.validAtIssuance && " · NOT valid at the document timestamp"}
              {!cert.validNow && " · NOT valid at verification time"}
            </span>
          </li>
        ))}
      </ol>
      <figcaption className="mt-2 flex flex-wrap gap-4 muted">
        <span>
          <span aria-hidden className="mr-1 inline-block h-3 w-0.5 bg-amber-500 align-middle" /> now = verification time ({verifiedAt.toISOString()})
        </span>
        {documentAt && (
          <span>
            <span aria-hidden className="mr-1 inline-block h-3 border-l-2 border-dashed border-blue-600 align-middle" /> document timestamp ({documentAt.toISOString()})
          </span>
        )}
        <span>logarithmic time scale around now</span>
      </figcaption>
    </figure>
  );
}

import { cn } from "./cn";

export type Tone = "ok" | "warn" | "bad" | "unknown" | "info";

const TONES: Record<Tone, string> = {
  // Text shades chosen for WCAG AA contrast on the tinted background in both themes (checked by e2e/accessibility).
  ok: "bg-green-600/15 text-green-800 dark:text-green-300 ring-green-600/30",
  warn: "bg-amber-500/15 text-amber-800 dark:text-amber-300 ring-amber-500/30",
  bad: "bg-red-600/15 text-red-800 dark:text-red-300 ring-red-600/30",
  unknown: "bg-gray-500/15 text-gray-700 dark:text-gray-300 ring-gray-500/30",
  info: "bg-blue-600/15 text-blue-800 dark:text-blue-200 ring-blue-600/30",
};

const DOTS: Record<Tone, string> = { ok: "bg-green-500", warn: "bg-amber-500", bad: "bg-red-500", unknown: "bg-gray-400", info: "bg-blue-500" };

/** A status is always shown with a word as well as a colour (colour-blind users, screenshots in tickets). */
export function StatusBadge({ tone, children, className }: { tone: Tone; children: React.ReactNode; className?: string }) {
  return (
    <span className={cn("inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", TONES[tone], className)}>
      <span aria-hidden className={cn("h-1.5 w-1.5 rounded-full", DOTS[tone])} />
      {children}
    </span>
  );
}

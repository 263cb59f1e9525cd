import { cn } from "./cn";

export function Table({ className, ...props }: React.TableHTMLAttributes<HTMLTableElement>) {
  // Focusable so keyboard users can scroll a wide table sideways.
  return (
    <div className="overflow-x-auto" role="region" aria-label={props["aria-label"] ?? "table"} tabIndex={0}>
      <table className={cn("w-full border-collapse text-sm", className)} {...props} />
    </div>
  );
}

export function Th({ className, ...props }: React.ThHTMLAttributes<HTMLTableCellElement>) {
  return <th scope="col" className={cn("border-b border-[var(--border)] px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide muted", className)} {...props} />;
}

export function Td({ className, ...props }: React.TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={cn("border-b border-[var(--border)] px-3 py-2 align-top", className)} {...props} />;
}

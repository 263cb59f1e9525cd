import { StatusBadge } from "@/components/ui/status-badge";
import { TimeAgo } from "@/components/ui/time";

export function EventList({ events }: { events: { id: number; at: Date; severity: string; message: string; kind: string }[] }) {
  if (events.length === 0) return <p className="text-sm muted">Nothing has happened yet.</p>;
  return (
    <ol className="divide-y divide-[var(--border)] text-sm" data-testid="event-list">
      {events.map((event) => (
        <li key={event.id} className="flex items-center gap-3 py-1.5">
          <StatusBadge tone={event.severity === "critical" ? "bad" : event.severity === "warning" ? "warn" : "info"}>{event.severity}</StatusBadge>
          <span className="flex-1">{event.message}</span>
          <span className="font-mono text-xs muted">{event.kind}</span>
          <TimeAgo date={event.at} />
        </li>
      ))}
    </ol>
  );
}

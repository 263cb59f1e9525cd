/** Relative time ("3 min ago") with the exact UTC instant in the tooltip; rendered on the server. */
export function formatAge(date: Date, now = new Date()): string {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86_400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function TimeAgo({ date, now }: { date: Date | null | undefined; now?: Date }) {
  if (!date) return <span className="muted">never</span>;
  return (
    <time dateTime={date.toISOString()} title={date.toISOString()}>
      {formatAge(date, now)}
    </time>
  );
}

/** A label/value list (definition list) for the "facts" panels of detail pages. */
export function FactList({ facts, mono, testId }: { facts: [string, React.ReactNode][]; mono?: boolean; testId?: string }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm" data-testid={testId}>
      {facts.map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="muted">{label}</dt>
          <dd className={mono ? "min-w-0 break-all font-mono text-xs" : "min-w-0"}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

import { cn } from "./cn";

export function Field({ label, htmlFor, error, hint, children }: { label: string; htmlFor: string; error?: string[] | string; hint?: string; children: React.ReactNode }) {
  const message = Array.isArray(error) ? error[0] : error;
  return (
    <div className="space-y-1">
      <label htmlFor={htmlFor} className="block text-sm font-medium">
        {label}
      </label>
      {children}
      {message ? (
        <p id={`${htmlFor}-error`} role="alert" className="text-sm text-red-600 dark:text-red-400">
          {message}
        </p>
      ) : hint ? (
        <p className="text-xs muted">{hint}</p>
      ) : null}
    </div>
  );
}

export function Input({ className, invalid, ...props }: React.InputHTMLAttributes<HTMLInputElement> & { invalid?: boolean }) {
  return (
    <input
      aria-invalid={invalid || undefined}
      aria-describedby={invalid && props.id ? `${props.id}-error` : undefined}
      className={cn(
        "w-full rounded-md border bg-[var(--panel)] px-3 py-2 text-sm outline-none focus:border-[var(--accent)]",
        invalid ? "border-red-500" : "border-[var(--border)]",
        className,
      )}
      {...props}
    />
  );
}

export function Select({ className, ...props }: React.SelectHTMLAttributes<HTMLSelectElement>) {
  return <select className={cn("rounded-md border border-[var(--border)] bg-[var(--panel)] px-2 py-1.5 text-sm", className)} {...props} />;
}

export function FormError({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <div role="alert" data-testid="form-error" className="rounded-md border border-red-500/40 bg-red-500/10 px-3 py-2 text-sm text-red-700 dark:text-red-300">
      {message}
    </div>
  );
}

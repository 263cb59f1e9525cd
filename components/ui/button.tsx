import { cn } from "./cn";

type Variant = "primary" | "secondary" | "danger" | "ghost";

const VARIANTS: Record<Variant, string> = {
  primary: "bg-[var(--accent-strong)] text-white hover:opacity-90",
  secondary: "border border-[var(--border)] bg-[var(--panel)] hover:bg-[var(--panel-2)]",
  danger: "bg-red-600 text-white hover:bg-red-700",
  ghost: "hover:bg-[var(--panel-2)]",
};

export function Button({ variant = "primary", className, ...props }: React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      className={cn("inline-flex items-center justify-center gap-2 rounded-md px-3 py-1.5 text-sm font-medium transition disabled:cursor-not-allowed disabled:opacity-50", VARIANTS[variant], className)}
      {...props}
    />
  );
}

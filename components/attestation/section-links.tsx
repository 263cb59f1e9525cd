import Link from "next/link";

const LINK = "rounded-md border border-[var(--border)] px-3 py-1.5 text-sm hover:bg-[var(--panel-2)]";
const SECTIONS = [
  { href: "/attestation", label: "Attestation" },
  { href: "/releases", label: "Releases" },
  { href: "/attestation/policy", label: "Policy" },
] as const;

/** Links between the attestation pages (Releases and Policy are reached from here, not from the sidebar). */
export function AttestationSectionLinks({ current, children }: { current: (typeof SECTIONS)[number]["href"]; children?: React.ReactNode }) {
  return (
    <div className="flex flex-wrap items-center gap-2">
      {SECTIONS.filter((section) => section.href !== current).map((section) => (
        <Link key={section.href} href={section.href} className={LINK}>
          {section.label}
        </Link>
      ))}
      {children}
    </div>
  );
}

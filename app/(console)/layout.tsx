import { cookies } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { NAV_ITEMS } from "@/components/shell/nav-items";
import { SidebarNav } from "@/components/shell/sidebar-nav";
import { SignOutButton } from "@/components/shell/sign-out-button";
import { ThemeToggle } from "@/components/shell/theme-toggle";
import { StatusBadge } from "@/components/ui/status-badge";
import { can } from "@/lib/auth/permissions";
import { getCurrentUser } from "@/lib/auth/session";
import { labTrustActive } from "@/lib/fleet/trust";

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  const theme = (await cookies()).get("theme")?.value === "light" ? "light" : "dark";
  const items = NAV_ITEMS.filter((item) => can(user.role, item.permission)).map(({ href, label }) => ({ href, label }));
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <aside className="border-b border-[var(--border)] bg-[var(--panel)] p-3 md:w-56 md:shrink-0 md:border-b-0 md:border-r">
        <Link href="/" className="mb-4 block px-3 py-1 text-base font-semibold">
          Acra Nitro Console
        </Link>
        <SidebarNav items={items} />
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        {labTrustActive() && (
          <div role="status" className="bg-amber-500 px-4 py-1.5 text-center text-sm font-semibold text-black" data-testid="lab-banner">
            LAB TRUST: attestation is checked against the local lab root, not the AWS Nitro root. Nothing here proves a real enclave.
          </div>
        )}
        <header className="flex items-center justify-end gap-3 border-b border-[var(--border)] px-4 py-2">
          <span className="text-sm" data-testid="current-user">
            {user.name} <span className="muted">({user.email})</span>
          </span>
          <StatusBadge tone="info">
            <span data-testid="current-role">{user.role}</span>
          </StatusBadge>
          <ThemeToggle initial={theme} />
          <SignOutButton />
        </header>
        <main className="mx-auto w-full max-w-7xl flex-1 p-4 md:p-6">{children}</main>
      </div>
    </div>
  );
}

"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "@/components/ui/cn";

export function SidebarNav({ items }: { items: { href: string; label: string }[] }) {
  const pathname = usePathname();
  return (
    <nav aria-label="Sections" className="flex flex-row gap-1 overflow-x-auto md:flex-col">
      {items.map((item) => {
        const active = item.href === "/" ? pathname === "/" : pathname === item.href || pathname.startsWith(`${item.href}/`);
        return (
          <Link
            key={item.href}
            href={item.href}
            aria-current={active ? "page" : undefined}
            className={cn("whitespace-nowrap rounded-md px-3 py-1.5 text-sm", active ? "bg-[var(--panel-2)] font-semibold" : "muted hover:bg-[var(--panel-2)]")}
          >
            {item.label}
          </Link>
        );
      })}
    </nav>
  );
}

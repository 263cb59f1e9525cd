"use client";

import { useAction } from "next-safe-action/hooks";
import { signOutAction } from "@/app/(console)/actions";

export function SignOutButton() {
  const { execute, isPending } = useAction(signOutAction);
  return (
    <button type="button" onClick={() => execute()} disabled={isPending} className="rounded-md px-2 py-1 text-sm muted hover:bg-[var(--panel-2)]">
      {isPending ? "Signing out…" : "Sign out"}
    </button>
  );
}

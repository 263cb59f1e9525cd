"use server";

import { redirect } from "next/navigation";
import { signOutCurrentSession } from "@/lib/auth/sign-in";
import { actionClient } from "@/lib/safe-action";

export const signOutAction = actionClient
  .metadata({ action: "auth.sign_out", permission: "authenticated", audited: false })
  .action(async ({ ctx }) => {
    // Audited by signOutCurrentSession itself, with the user that was signed in.
    await signOutCurrentSession(ctx.user);
    redirect("/sign-in");
  });

"use server";

import { z } from "zod";
import { signInWithPassword } from "@/lib/auth/sign-in";
import { publicActionClient, UserFacingError } from "@/lib/safe-action";

const signInSchema = z.object({
  email: z.string().trim().min(1, "Enter your email").email("Enter a valid email address").max(254),
  password: z.string().min(1, "Enter your password").max(256),
});

export const signInAction = publicActionClient
  .metadata({ action: "auth.sign_in", permission: "public", audited: false })
  .inputSchema(signInSchema)
  .action(async ({ parsedInput }) => {
    const outcome = await signInWithPassword(parsedInput.email, parsedInput.password);
    if (!outcome.ok) throw new UserFacingError(outcome.error);
    return { ok: true };
  });

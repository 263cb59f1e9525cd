"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { ROLES } from "@/lib/auth/permissions";
import { createLocalUser, generatePassword, newUserSchema, revokeSessions, setUserDisabled, setUserRole } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";
import { actionClient, UserFacingError } from "@/lib/safe-action";

export const createUserAction = actionClient
  .metadata({ action: "users.create", permission: "users.manage" })
  .inputSchema(newUserSchema)
  .action(async ({ parsedInput }) => {
    const password = generatePassword();
    try {
      const user = await createLocalUser(getDb(), { ...parsedInput, password });
      revalidatePath("/settings");
      // Shown once to the admin who created the account; stored only as a hash.
      return { email: user.email, password };
    } catch (error) {
      if (error instanceof Error && /already exists/.test(error.message)) throw new UserFacingError(error.message);
      throw error;
    }
  });

const userIdSchema = z.object({ userId: z.string().min(1).max(64) });

async function assertNotSelf(userId: string, selfId: string, what: string) {
  // An admin cannot lock themselves out (and leave the console without an admin) by accident.
  if (userId === selfId) throw new UserFacingError(`You cannot ${what} your own account.`);
  if (!(await getDb().user.findUnique({ where: { id: userId }, select: { id: true } }))) throw new UserFacingError("No such user.");
}

export const changeRoleAction = actionClient
  .metadata({ action: "users.change_role", permission: "users.manage" })
  .inputSchema(userIdSchema.extend({ role: z.enum(ROLES, { message: "Choose a role" }) }))
  .action(async ({ parsedInput, ctx }) => {
    await assertNotSelf(parsedInput.userId, ctx.user.id, "change the role of");
    await setUserRole(getDb(), parsedInput.userId, parsedInput.role);
    revalidatePath("/settings");
    return { ok: true };
  });

export const setDisabledAction = actionClient
  .metadata({ action: "users.set_disabled", permission: "users.manage" })
  .inputSchema(userIdSchema.extend({ disabled: z.boolean() }))
  .action(async ({ parsedInput, ctx }) => {
    await assertNotSelf(parsedInput.userId, ctx.user.id, "disable");
    await setUserDisabled(getDb(), parsedInput.userId, parsedInput.disabled);
    revalidatePath("/settings");
    return { ok: true };
  });

export const revokeSessionsAction = actionClient
  .metadata({ action: "users.revoke_sessions", permission: "users.manage" })
  .inputSchema(userIdSchema)
  .action(async ({ parsedInput }) => {
    const revoked = await revokeSessions(getDb(), parsedInput.userId);
    revalidatePath("/settings");
    return { revoked };
  });

"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { attestationPolicySchema } from "@/lib/attestation/policy";
import { RegistryError, savePolicy, setRequireSecondApprover } from "@/lib/attestation/registry-store";
import { getDb } from "@/lib/db/client";
import { actionClient, UserFacingError } from "@/lib/safe-action";

export const savePolicyAction = actionClient
  .metadata({ action: "policy.save", permission: "policy.manage" })
  .inputSchema(attestationPolicySchema)
  .action(async ({ parsedInput, ctx }) => {
    const { environment, ...body } = parsedInput;
    try {
      const stored = await savePolicy(getDb(), environment, body, { id: ctx.user.id, email: ctx.user.email });
      revalidatePath("/attestation/policy");
      revalidatePath("/attestation");
      return { version: stored.version, hash: stored.hash };
    } catch (error) {
      if (error instanceof RegistryError) throw new UserFacingError(error.message);
      throw error;
    }
  });

export const setSecondApproverAction = actionClient
  .metadata({ action: "policy.set_second_approver", permission: "policy.manage" })
  .inputSchema(z.object({ requireSecondApprover: z.boolean() }))
  .action(async ({ parsedInput, ctx }) => {
    await setRequireSecondApprover(getDb(), parsedInput.requireSecondApprover, { id: ctx.user.id, email: ctx.user.email });
    revalidatePath("/attestation/policy");
    revalidatePath("/releases");
    return { requireSecondApprover: parsedInput.requireSecondApprover };
  });

"use server";

import { revalidatePath } from "next/cache";
import { approveRelease, importRelease, RegistryError, revokeRelease } from "@/lib/attestation/registry-store";
import { releaseIdSchema, releaseImportSchema, revokeReleaseSchema } from "@/lib/attestation/release-rules";
import { getDb } from "@/lib/db/client";
import { actionClient, UserFacingError } from "@/lib/safe-action";

/** Domain refusals (duplicate, wrong state, same approver) reach the user as they are; anything else stays generic. */
async function userFacing<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RegistryError) throw new UserFacingError(error.message);
    throw error;
  }
}

export const importReleaseAction = actionClient
  .metadata({ action: "releases.import", permission: "releases.import" })
  .inputSchema(releaseImportSchema)
  .action(async ({ parsedInput, ctx }) => {
    const release = await userFacing(() => importRelease(getDb(), parsedInput, { id: ctx.user.id, email: ctx.user.email }));
    revalidatePath("/releases");
    return { id: release.id, name: release.name, version: release.version, source: release.source };
  });

export const approveReleaseAction = actionClient
  .metadata({ action: "releases.approve", permission: "releases.approve" })
  .inputSchema(releaseIdSchema)
  .action(async ({ parsedInput, ctx }) => {
    const release = await userFacing(() => approveRelease(getDb(), parsedInput.releaseId, { id: ctx.user.id, email: ctx.user.email }));
    revalidatePath("/releases");
    return { id: release.id, status: release.status };
  });

export const revokeReleaseAction = actionClient
  .metadata({ action: "releases.revoke", permission: "releases.approve" })
  .inputSchema(revokeReleaseSchema)
  .action(async ({ parsedInput, ctx }) => {
    const release = await userFacing(() => revokeRelease(getDb(), parsedInput.releaseId, parsedInput.reason, { id: ctx.user.id, email: ctx.user.email }));
    revalidatePath("/releases");
    revalidatePath("/attestation");
    return { id: release.id, status: release.status };
  });

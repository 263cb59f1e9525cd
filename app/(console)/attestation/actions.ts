"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { attestEnclaveNow, attestFleet, EnclaveNotAttestableError } from "@/lib/attestation/fleet-attestation";
import { getDb } from "@/lib/db/client";
import { actionClient, UserFacingError } from "@/lib/safe-action";

export const attestNowAction = actionClient
  .metadata({ action: "attestation.attest_now", permission: "attestation.run" })
  .inputSchema(z.object({ enclaveId: z.string().min(1).max(128) }))
  .action(async ({ parsedInput }) => {
    try {
      const attempt = await attestEnclaveNow(getDb(), parsedInput.enclaveId);
      revalidatePath("/attestation");
      revalidatePath(`/attestation/${encodeURIComponent(parsedInput.enclaveId)}`);
      return { state: attempt.state, trusted: attempt.trusted, error: attempt.error };
    } catch (error) {
      if (error instanceof EnclaveNotAttestableError) throw new UserFacingError(error.message);
      throw error;
    }
  });

export const attestFleetAction = actionClient
  .metadata({ action: "attestation.attest_fleet", permission: "attestation.run" })
  .action(async () => {
    const results = await attestFleet(getDb());
    revalidatePath("/attestation");
    return { enclaves: results.length, trusted: results.filter((result) => result.state === "trusted").length };
  });

"use client";

import { useAction } from "next-safe-action/hooks";
import { Button } from "@/components/ui/button";
import { attestFleetAction, attestNowAction } from "./actions";

function Outcome({ serverError, message }: { serverError?: string; message: string | null }) {
  if (serverError) {
    return (
      <span role="alert" className="text-xs text-red-600">
        {serverError}
      </span>
    );
  }
  return message ? (
    <span role="status" className="text-xs">
      {message}
    </span>
  ) : null;
}

/** Shown only to roles with attestation.run; the server action checks the permission again. */
export function AttestNowButton({ enclaveId }: { enclaveId: string }) {
  const { execute, result, isPending } = useAction(attestNowAction);
  const data = result.data;
  return (
    <div className="flex items-center gap-2">
      <Button onClick={() => execute({ enclaveId })} disabled={isPending} data-testid="attest-now">
        {isPending ? "Attesting…" : "Attest now"}
      </Button>
      <Outcome serverError={result.serverError} message={data ? (data.error ? `No document: ${data.error}` : `Result: ${data.state}`) : null} />
    </div>
  );
}

export function AttestFleetButton() {
  const { execute, result, isPending } = useAction(attestFleetAction);
  const data = result.data;
  return (
    <div className="flex items-center gap-2">
      <Button onClick={() => execute()} disabled={isPending}>
        {isPending ? "Attesting…" : "Attest fleet now"}
      </Button>
      <Outcome serverError={result.serverError} message={data ? `${data.trusted}/${data.enclaves} trusted` : null} />
    </div>
  );
}

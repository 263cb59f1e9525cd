"use client";

import { useAction } from "next-safe-action/hooks";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { approveReleaseAction, revokeReleaseAction } from "./actions";

interface Props {
  releaseId: string;
  label: string;
  pcr0: string;
  status: string;
  /** set when the second-approver rule keeps this user from approving (they imported it) */
  approveBlockedReason: string | null;
}

/** Approve and revoke, each behind a confirmation dialog that repeats what is being trusted or withdrawn. */
export function ReleaseActions({ releaseId, label, pcr0, status, approveBlockedReason }: Props) {
  const [dialog, setDialog] = useState<"approve" | "revoke" | null>(null);
  const [reason, setReason] = useState("");
  const approve = useAction(approveReleaseAction, { onSuccess: () => setDialog(null) });
  const revoke = useAction(revokeReleaseAction, { onSuccess: () => setDialog(null) });
  const error = approve.result.serverError ?? revoke.result.serverError;
  const reasonError = revoke.result.validationErrors?.fieldErrors?.reason?.[0];
  return (
    <div className="flex flex-wrap items-center gap-2">
      {status === "pending" && (
        <Button onClick={() => setDialog("approve")} disabled={Boolean(approveBlockedReason)} title={approveBlockedReason ?? undefined}>
          Approve
        </Button>
      )}
      {status !== "revoked" && (
        <Button variant="danger" onClick={() => setDialog("revoke")}>
          Revoke
        </Button>
      )}
      {approveBlockedReason && status === "pending" && <span className="text-xs muted">{approveBlockedReason}</span>}
      {error && !dialog && (
        <span role="alert" className="text-xs text-red-600">
          {error}
        </span>
      )}
      {dialog && (
        <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/50 p-4" onClick={() => setDialog(null)}>
          <div
            role="dialog"
            aria-modal="true"
            aria-labelledby={`dialog-${releaseId}`}
            className="panel w-full max-w-lg space-y-3 p-5"
            onClick={(event) => event.stopPropagation()}
            onKeyDown={(event) => {
              if (event.key === "Escape") setDialog(null);
            }}
          >
            <h2 id={`dialog-${releaseId}`} className="text-lg font-semibold">
              {dialog === "approve" ? `Approve ${label}?` : `Revoke ${label}?`}
            </h2>
            <p className="text-sm">
              {dialog === "approve"
                ? "Enclaves measuring this PCR0 can become trusted once a policy allows the release."
                : "Enclaves running this image become untrusted at their next attestation, whatever the policy says."}
            </p>
            <p className="break-all rounded bg-[var(--panel-2)] p-2 font-mono text-xs">PCR0 {pcr0}</p>
            {dialog === "revoke" && (
              <div className="space-y-1">
                <label htmlFor={`reason-${releaseId}`} className="block text-sm font-medium">
                  Reason
                </label>
                <textarea
                  id={`reason-${releaseId}`}
                  rows={2}
                  value={reason}
                  onChange={(event) => setReason(event.target.value)}
                  className="w-full rounded-md border border-[var(--border)] bg-[var(--panel)] px-3 py-2 text-sm"
                  aria-invalid={Boolean(reasonError) || undefined}
                />
                {reasonError && (
                  <p role="alert" className="text-sm text-red-600">
                    {reasonError}
                  </p>
                )}
              </div>
            )}
            {error && (
              <p role="alert" className="text-sm text-red-600">
                {error}
              </p>
            )}
            <div className="flex justify-end gap-2">
              <Button variant="secondary" onClick={() => setDialog(null)}>
                Cancel
              </Button>
              {dialog === "approve" ? (
                <Button disabled={approve.isPending} onClick={() => approve.execute({ releaseId })}>
                  {approve.isPending ? "Approving…" : "Confirm approval"}
                </Button>
              ) : (
                <Button variant="danger" disabled={revoke.isPending} onClick={() => revoke.execute({ releaseId, reason })}>
                  {revoke.isPending ? "Revoking…" : "Confirm revocation"}
                </Button>
              )}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}

"use client";

import { useAction } from "next-safe-action/hooks";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormError, Input } from "@/components/ui/form";
import { savePolicyAction, setSecondApproverAction } from "./actions";

interface Props {
  environment: string;
  current: { allowedReleaseIds: string[]; allowDebug: boolean; freshnessSeconds: number };
  approved: { id: string; name: string; version: string; pcr0: string }[];
}

export function PolicyForm({ environment, current, approved }: Props) {
  const [allowed, setAllowed] = useState<string[]>(current.allowedReleaseIds.filter((id) => approved.some((release) => release.id === id)));
  const [allowDebug, setAllowDebug] = useState(current.allowDebug);
  const [freshness, setFreshness] = useState(String(current.freshnessSeconds));
  const { execute, result, isPending } = useAction(savePolicyAction);
  const errors = result.validationErrors?.fieldErrors;
  const production = environment.trim().toLowerCase() === "production";
  return (
    <form
      className="space-y-4"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        execute({ environment, allowedReleaseIds: allowed, allowDebug, freshnessSeconds: Number(freshness) });
      }}
    >
      <FormError message={result.serverError} />
      {result.data && !isPending && (
        <div role="status" className="rounded-md border border-green-600/40 bg-green-600/10 p-3 text-sm">
          Saved version {result.data.version} <span className="font-mono text-xs">({result.data.hash.slice(0, 16)}…)</span>
        </div>
      )}
      <fieldset className="space-y-1">
        <legend className="text-sm font-medium">Allowed releases (approved only)</legend>
        {approved.length === 0 && <p className="text-sm muted">No approved release yet.</p>}
        {approved.map((release) => (
          <label key={release.id} className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={allowed.includes(release.id)}
              onChange={(event) => setAllowed(event.target.checked ? [...allowed, release.id] : allowed.filter((id) => id !== release.id))}
            />
            {release.name} {release.version} <span className="font-mono text-xs muted">{release.pcr0.slice(0, 16)}…</span>
          </label>
        ))}
        {errors?.allowedReleaseIds && <p className="text-sm text-red-600">{errors.allowedReleaseIds[0]}</p>}
      </fieldset>
      <div className="space-y-1">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={allowDebug} disabled={production && !allowDebug} onChange={(event) => setAllowDebug(event.target.checked)} />
          Accept debug-mode enclaves (PCR0/1/2 zero; the host can read their memory)
        </label>
        {production && <p className="text-xs muted">Never in production: the schema refuses it.</p>}
        {errors?.allowDebug && (
          <p role="alert" className="text-sm text-red-600">
            {errors.allowDebug[0]}
          </p>
        )}
      </div>
      <div className="max-w-xs">
        <Field label="Freshness window (seconds)" htmlFor="freshness" error={errors?.freshnessSeconds} hint="30 to 86400; a document older than this is stale">
          <Input id="freshness" inputMode="numeric" value={freshness} invalid={Boolean(errors?.freshnessSeconds)} onChange={(event) => setFreshness(event.target.value)} />
        </Field>
      </div>
      <Button type="submit" disabled={isPending}>
        {isPending ? "Saving…" : "Save as a new version"}
      </Button>
    </form>
  );
}

export function SecondApproverToggle({ value }: { value: boolean }) {
  // The box follows the click at once; a refused or failed save puts it back.
  const [checked, setChecked] = useState(value);
  const { execute, result, isPending } = useAction(setSecondApproverAction, { onError: () => setChecked((current) => !current) });
  return (
    <div className="flex flex-wrap items-center gap-3 text-sm">
      <label className="flex items-center gap-2">
        <input
          type="checkbox"
          checked={checked}
          disabled={isPending}
          onChange={(event) => {
            setChecked(event.target.checked);
            execute({ requireSecondApprover: event.target.checked });
          }}
        />
        Require a second person to approve a release (the importer cannot approve their own)
      </label>
      {isPending && <span className="text-xs muted">saving…</span>}
      {result.data && !isPending && (
        <span role="status" className="text-xs">
          Saved.
        </span>
      )}
      {result.serverError && (
        <span role="alert" className="text-xs text-red-600">
          {result.serverError}
        </span>
      )}
    </div>
  );
}

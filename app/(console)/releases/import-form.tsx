"use client";

import { useAction } from "next-safe-action/hooks";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormError, Input } from "@/components/ui/form";
import { importReleaseAction } from "./actions";

const EMPTY = { name: "", version: "", sourceCommit: "", buildOutput: "" };

/** Paste the JSON that nitro-cli build-enclave / describe-eif or enclaver build printed, or upload the file. */
export function ImportReleaseForm() {
  const [form, setForm] = useState(EMPTY);
  const [fileNote, setFileNote] = useState<string | null>(null);
  const { execute, result, isPending } = useAction(importReleaseAction, {
    onSuccess: () => {
      setForm(EMPTY);
      setFileNote(null);
    },
  });
  // Keyed by input field at runtime; the type follows the schema's output, which the transform reshapes.
  const errors = result.validationErrors?.fieldErrors as Partial<Record<"name" | "version" | "sourceCommit" | "buildOutput", string[]>> | undefined;
  const buildErrors = errors?.buildOutput ?? [];
  return (
    <form
      className="grid gap-3 md:grid-cols-3"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        execute(form);
      }}
    >
      <div className="md:col-span-3">
        <FormError message={result.serverError} />
        {result.data && !isPending && (
          <div role="status" data-testid="import-ok" className="rounded-md border border-green-600/40 bg-green-600/10 p-3 text-sm">
            Imported <strong>{result.data.name} {result.data.version}</strong> from {result.data.source} output. It is pending until approved.
          </div>
        )}
      </div>
      <Field label="Name" htmlFor="release-name" error={errors?.name}>
        <Input id="release-name" value={form.name} invalid={Boolean(errors?.name)} placeholder="acra-server" onChange={(event) => setForm({ ...form, name: event.target.value })} />
      </Field>
      <Field label="Version" htmlFor="release-version" error={errors?.version}>
        <Input id="release-version" value={form.version} invalid={Boolean(errors?.version)} placeholder="0.96.0-1" onChange={(event) => setForm({ ...form, version: event.target.value })} />
      </Field>
      <Field label="Source commit" htmlFor="release-commit" error={errors?.sourceCommit} hint="The git commit the reproducible build was made from (optional)">
        <Input id="release-commit" value={form.sourceCommit} invalid={Boolean(errors?.sourceCommit)} onChange={(event) => setForm({ ...form, sourceCommit: event.target.value })} />
      </Field>
      <div className="space-y-1 md:col-span-3">
        <label htmlFor="release-build-output" className="block text-sm font-medium">
          Build output
        </label>
        <textarea
          id="release-build-output"
          rows={8}
          spellCheck={false}
          value={form.buildOutput}
          aria-invalid={buildErrors.length > 0 || undefined}
          aria-describedby={buildErrors.length > 0 ? "release-build-output-error" : undefined}
          placeholder={'{\n  "Measurements": {\n    "HashAlgorithm": "Sha384 { ... }",\n    "PCR0": "…96 hex…",\n    "PCR1": "…",\n    "PCR2": "…"\n  }\n}'}
          className={`w-full rounded-md border bg-[var(--panel)] px-3 py-2 font-mono text-xs outline-none focus:border-[var(--accent)] ${buildErrors.length ? "border-red-500" : "border-[var(--border)]"}`}
          onChange={(event) => setForm({ ...form, buildOutput: event.target.value })}
        />
        {buildErrors.length > 0 ? (
          <ul id="release-build-output-error" role="alert" className="space-y-0.5 text-sm text-red-600 dark:text-red-400">
            {buildErrors.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        ) : (
          <p className="text-xs muted">
            Paste what <code>nitro-cli build-enclave</code>, <code>nitro-cli describe-eif</code> or <code>enclaver build</code> printed. Each PCR must be 96 hex characters (SHA-384).
          </p>
        )}
        <div className="flex items-center gap-2 text-sm">
          <label htmlFor="release-file" className="muted">
            or upload the file:
          </label>
          <input
            id="release-file"
            type="file"
            accept=".json,.txt,application/json,text/plain"
            className="text-xs"
            onChange={async (event) => {
              const file = event.target.files?.[0];
              if (!file) return;
              if (file.size > 64 * 1024) {
                setFileNote(`${file.name} is larger than 64 KiB; that is not a build output.`);
                return;
              }
              const text = await file.text();
              setForm((current) => ({ ...current, buildOutput: text }));
              setFileNote(`Loaded ${file.name} (${file.size} bytes).`);
            }}
          />
          {fileNote && <span className="text-xs muted">{fileNote}</span>}
        </div>
      </div>
      <div>
        <Button type="submit" disabled={isPending}>
          {isPending ? "Importing…" : "Import release"}
        </Button>
      </div>
    </form>
  );
}

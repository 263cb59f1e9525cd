"use client";

import { useAction } from "next-safe-action/hooks";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormError, Input, Select } from "@/components/ui/form";
import { ROLE_DESCRIPTIONS, ROLES } from "@/lib/auth/permissions";
import { createUserAction } from "./actions";

export function CreateUserForm() {
  const [form, setForm] = useState({ email: "", name: "", role: "" });
  const { execute, result, isPending, reset } = useAction(createUserAction, { onSuccess: () => setForm({ email: "", name: "", role: "" }) });
  const errors = result.validationErrors?.fieldErrors;
  return (
    <form
      className="grid gap-3 md:grid-cols-4 md:items-start"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        execute(form as { email: string; name: string; role: (typeof ROLES)[number] });
      }}
    >
      <div className="md:col-span-4">
        <FormError message={result.serverError} />
        {result.data && (
          <div role="status" className="rounded-md border border-green-600/40 bg-green-600/10 p-3 text-sm" data-testid="new-user-password">
            Created <strong>{result.data.email}</strong>. One-time password: <code className="select-all font-mono">{result.data.password}</code>{" "}
            <span className="muted">(shown once; hand it over securely)</span>{" "}
            <button type="button" className="underline" onClick={() => reset()}>
              Done
            </button>
          </div>
        )}
      </div>
      <Field label="Email" htmlFor="new-email" error={errors?.email}>
        <Input id="new-email" value={form.email} invalid={Boolean(errors?.email)} onChange={(event) => setForm({ ...form, email: event.target.value })} />
      </Field>
      <Field label="Name" htmlFor="new-name" error={errors?.name}>
        <Input id="new-name" value={form.name} invalid={Boolean(errors?.name)} onChange={(event) => setForm({ ...form, name: event.target.value })} />
      </Field>
      <Field label="Role" htmlFor="new-role" error={errors?.role}>
        <Select id="new-role" className="w-full py-2" value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value })}>
          <option value="">Choose…</option>
          {ROLES.map((role) => (
            <option key={role} value={role} title={ROLE_DESCRIPTIONS[role]}>
              {role}
            </option>
          ))}
        </Select>
      </Field>
      <div className="pt-6">
        <Button type="submit" disabled={isPending}>
          {isPending ? "Creating…" : "Create user"}
        </Button>
      </div>
    </form>
  );
}

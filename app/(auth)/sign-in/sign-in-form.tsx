"use client";

import { useAction } from "next-safe-action/hooks";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormError, Input } from "@/components/ui/form";
import { signInAction } from "./actions";

export function SignInForm({ oidc }: { oidc: boolean }) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { execute, result, isPending } = useAction(signInAction, {
    onSuccess: () => {
      router.replace("/");
      router.refresh();
    },
  });
  const fieldErrors = result.validationErrors?.fieldErrors;
  return (
    <form
      className="space-y-4"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        execute({ email, password });
      }}
    >
      <FormError message={result.serverError} />
      <Field label="Email" htmlFor="email" error={fieldErrors?.email}>
        <Input id="email" name="email" type="email" autoComplete="username" value={email} onChange={(event) => setEmail(event.target.value)} invalid={Boolean(fieldErrors?.email)} autoFocus />
      </Field>
      <Field label="Password" htmlFor="password" error={fieldErrors?.password}>
        <Input id="password" name="password" type="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} invalid={Boolean(fieldErrors?.password)} />
      </Field>
      <Button type="submit" className="w-full" disabled={isPending}>
        {isPending ? "Signing in…" : "Sign in"}
      </Button>
      {oidc && (
        <a href="/api/auth/sign-in/oidc" className="block text-center text-sm text-[var(--accent)] hover:underline">
          Sign in with your identity provider
        </a>
      )}
    </form>
  );
}

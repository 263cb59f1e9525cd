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
        <Button
          type="button"
          variant="secondary"
          className="w-full"
          onClick={async () => {
            // Better Auth's generic OAuth flow: it answers with the provider's authorization URL (PKCE, state).
            const response = await fetch("/api/auth/sign-in/oauth2", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ providerId: "oidc", callbackURL: "/" }),
            });
            const body = (await response.json().catch(() => null)) as { url?: string } | null;
            if (body?.url) window.location.assign(body.url);
          }}
        >
          Sign in with your identity provider
        </Button>
      )}
    </form>
  );
}

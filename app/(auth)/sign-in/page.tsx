import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { oidcEnabled } from "@/lib/auth/auth";
import { getCurrentUser } from "@/lib/auth/session";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await getCurrentUser()) redirect("/");
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="panel w-full max-w-sm p-6">
        <h1 className="text-xl font-semibold">Acra Nitro Console</h1>
        <p className="mb-6 mt-1 text-sm muted">Sign in to see your enclaves, attestation and key usage.</p>
        <SignInForm oidc={oidcEnabled()} />
      </div>
    </main>
  );
}

import Link from "next/link";

export default async function ForbiddenPage({ searchParams }: { searchParams: Promise<{ need?: string }> }) {
  const { need } = await searchParams;
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="panel max-w-md p-6">
        <h1 className="text-xl font-semibold">Not available to your role</h1>
        <p className="mt-2 text-sm muted">
          {need ? (
            <>
              This page needs the <code>{need.replace(/[^a-z._]/g, "")}</code> permission.
            </>
          ) : (
            "Your role does not include this page."
          )}{" "}
          Ask an admin if you need it.
        </p>
        <Link href="/" className="mt-4 inline-block text-sm text-[var(--accent)] hover:underline">
          Back to the overview
        </Link>
      </div>
    </main>
  );
}

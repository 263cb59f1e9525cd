import type { Metadata } from "next";
import { cookies } from "next/headers";
import { NuqsAdapter } from "nuqs/adapters/next/app";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Acra Nitro Console", template: "%s · Acra Nitro Console" },
  description: "Operations console for Acra inside AWS Nitro Enclaves",
  robots: { index: false, follow: false },
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // The theme comes from a cookie, so the server renders the right one and no inline script is needed.
  const theme = (await cookies()).get("theme")?.value === "light" ? "light" : "dark";
  return (
    <html lang="en" className={theme === "dark" ? "dark" : ""} data-theme={theme}>
      <body className="min-h-screen font-sans antialiased">
        <NuqsAdapter>{children}</NuqsAdapter>
      </body>
    </html>
  );
}

import { SectionWithoutData } from "@/components/shell/section-intro";
import { requirePagePermission } from "@/lib/auth/session";

export const metadata = { title: "Acra logs" };

export default async function AcralogsPage() {
  await requirePagePermission("logs.view");
  return (
    <SectionWithoutData
      title="Acra logs"
      description="acra-server's logs from CloudWatch Logs, parsed (plaintext, JSON, CEF) with the Enclaver prefix stripped."
      source="CloudWatch Logs FilterLogEvents on the Acra log groups"
    />
  );
}

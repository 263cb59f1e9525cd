import { SectionWithoutData } from "@/components/shell/section-intro";
import { requirePagePermission } from "@/lib/auth/session";

export const metadata = { title: "Alerts" };

export default async function AlertsPage() {
  await requirePagePermission("alerts.view");
  return (
    <SectionWithoutData
      title="Alerts"
      description="Poison-record hits, unattested key use, PCR changes and unreachable hosts, with acknowledgement."
      source="fleet events, attestation results, CloudTrail and Acra logs"
    />
  );
}

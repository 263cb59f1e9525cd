import { SectionWithoutData } from "@/components/shell/section-intro";
import { requirePagePermission } from "@/lib/auth/session";

export const metadata = { title: "Evidence" };

export default async function EvidencePage() {
  await requirePagePermission("evidence.view");
  return (
    <SectionWithoutData
      title="Evidence"
      description="Signed bundles of attestation and key-usage records that auditors verify offline."
      source="stored attestation documents, CloudTrail records and the audit trail"
    />
  );
}

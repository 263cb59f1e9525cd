import { SectionWithoutData } from "@/components/shell/section-intro";
import { requirePagePermission } from "@/lib/auth/session";

export const metadata = { title: "KMS keys" };

export default async function KMSkeysPage() {
  await requirePagePermission("kms.view");
  return (
    <SectionWithoutData
      title="KMS keys"
      description="Key state, rotation and every Decrypt from CloudTrail, tied to the attested enclave image that made it."
      source="AWS CloudTrail LookupEvents (kms.amazonaws.com) and KMS DescribeKey / GetKeyRotationStatus"
    />
  );
}

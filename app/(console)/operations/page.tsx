import { SectionWithoutData } from "@/components/shell/section-intro";
import { requirePagePermission } from "@/lib/auth/session";

export const metadata = { title: "Operations" };

export default async function OperationsPage() {
  await requirePagePermission("operations.view");
  return (
    <SectionWithoutData
      title="Operations"
      description="Key rotations and enclave redeploys, step by step, with who asked and who approved."
      source="server actions against the host agents"
    />
  );
}

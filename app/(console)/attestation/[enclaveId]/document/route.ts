/**
 * Download of an enclave's raw attestation document (COSE_Sign1 CBOR, exactly the bytes the agent returned), for
 * auditors to verify independently (`npm run cli -- verify-attestation <file>`). ?sha256= picks an older one.
 */
import { getAttestationDocumentBytes } from "@/lib/attestation/attestation-data";
import { AuthorizationError, requirePermission } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

export async function GET(request: Request, { params }: { params: Promise<{ enclaveId: string }> }) {
  try {
    await requirePermission("attestation.view");
  } catch (error) {
    if (error instanceof AuthorizationError) {
      return Response.json({ error: error.kind }, { status: error.kind === "unauthenticated" ? 401 : 403 });
    }
    throw error;
  }
  const { enclaveId } = await params;
  const sha256 = new URL(request.url).searchParams.get("sha256");
  if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) return Response.json({ error: "sha256 must be 64 lower-case hex characters" }, { status: 400 });
  const document = await getAttestationDocumentBytes(decodeURIComponent(enclaveId), sha256);
  if (!document) return Response.json({ error: "no stored attestation document for this enclave" }, { status: 404 });
  const safeId = decodeURIComponent(enclaveId).replace(/[^A-Za-z0-9._-]/g, "_");
  const stamp = document.at.toISOString().replace(/[:.]/g, "-");
  return new Response(new Uint8Array(document.bytes), {
    headers: {
      "Content-Type": "application/cbor",
      "Content-Disposition": `attachment; filename="attestation-${safeId}-${stamp}.cbor"`,
      "Content-Length": String(document.bytes.length),
      "X-Content-SHA256": document.sha256,
      "Cache-Control": "private, no-store",
    },
  });
}

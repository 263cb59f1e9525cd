/**
 * What the AWS emulator's KMS uses to judge a `Recipient` attestation document: the console's own verifier with
 * the lab root. Like KMS, it needs a document that is genuinely signed and recent; debug documents are accepted
 * here (KMS does too: their all-zero PCR0 then fails any PCR0 condition in the key policy).
 */
import { trustedRootFromPem, verifyAttestationDocument } from "../../lib/attestation";
import type { AttestationVerifier } from "./aws";

export function labKmsAttestationVerifier(labRootPem: string, now: () => Date = () => new Date()): AttestationVerifier {
  const roots = [trustedRootFromPem(labRootPem, "lab", "lab Nitro root")];
  return (bytes) => {
    const result = verifyAttestationDocument(bytes, { trustedRoots: roots, at: now(), allowDebug: true, freshnessMs: 5 * 60_000 });
    const document = result.document;
    if (!result.validAtIssuance || !result.fresh || !document) {
      return { ok: false, reason: result.reasons.map((reason) => reason.code).join(", ") || "attestation document not valid" };
    }
    if (!document.publicKey) return { ok: false, reason: "the attestation document carries no public key" };
    return { ok: true, pcrs: document.pcrs, publicKey: Buffer.from(document.publicKey, "hex"), moduleId: document.moduleId };
  };
}

import { StatusBadge } from "@/components/ui/status-badge";
import { acraTone, attestationTone, enclaveStateTone } from "./status";

/** The three things on-call looks at first for an enclave: is it running, is it attested, is Acra up. */
export function EnclaveBadges({ enclave }: { enclave: { state: string; attestationState: string; acraHealth: string } }) {
  return (
    <>
      <StatusBadge tone={enclaveStateTone(enclave.state)}>{enclave.state.toLowerCase()}</StatusBadge>
      <StatusBadge tone={attestationTone(enclave.attestationState)}>attestation {enclave.attestationState}</StatusBadge>
      <StatusBadge tone={acraTone(enclave.acraHealth)}>acra {enclave.acraHealth}</StatusBadge>
    </>
  );
}

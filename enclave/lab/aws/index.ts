/** The lab's AWS emulator (KMS, CloudTrail, CloudWatch Logs over the real wire protocol). See README.md. */
export { createAwsEmulator } from "./emulator";
export type { AwsEmulator, AwsEmulatorOptions, AwsEmulatorState, AwsEmulatorCounters } from "./emulator";
export type { AttestationVerifier, AttestationVerdict, PcrEncoding } from "./kms";
export { LAB_CREDENTIALS, DEFAULT_LAB_CREDENTIALS, labAwsClientConfig, resolvePrincipal } from "./principals";
export type { LabCredential, LabPrincipalName, PrincipalTemplate, Principal } from "./principals";
export { openCiphertextForRecipient } from "./kms-crypto";
export { defaultKeyPolicy } from "./key-policy";

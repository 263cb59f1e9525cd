/** Public surface of the pure Nitro attestation verifier (no I/O). */
export { verifyAttestationDocument, DEFAULT_FRESHNESS_MS, MAX_FUTURE_SKEW_MS } from "./verify";
export { parseAttestationDocument, MAX_DOCUMENT_BYTES, MAX_PAYLOAD_BYTES } from "./document";
export { createChainCache } from "./chain";
export { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256, awsNitroRootG1, trustedRootFromPem } from "./roots";
export { pcrForInstanceId, pcrForRoleArn, isDebugPcrs, normalisePcrHex } from "./pcr";
export { parseBuildOutput, type BuildOutputResult, type BuildOutputSource, type ReleaseMeasurements } from "./release";
export { attestationPolicySchema, canonicalJson, hashPolicy, type AttestationPolicy } from "./policy";
export type * from "./types";

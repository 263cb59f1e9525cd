/** Public types of the Nitro attestation verifier (lib/attestation). */
import type { CborErrorCode } from "./cbor";

/**
 * Stable reason codes (the decoder's own: parse.truncated, parse.trailing_bytes, parse.indefinite_length,
 * parse.duplicate_key, parse.too_deep, parse.bad_tag, parse.non_canonical, parse.invalid_utf8,
 * parse.unsupported_type — see cbor.ts). Consumers (UI, alerts, CLI, evidence) may switch on them; messages are for people.
 * `parse.bad_field:<name>` names the payload field (module_id, digest, timestamp, pcrs, certificate, cabundle,
 * public_key, user_data, nonce).
 */
export type ReasonCode =
  | CborErrorCode
  | "parse.too_large"
  | "parse.bad_structure"
  | "parse.bad_header"
  | "parse.bad_alg"
  | "parse.bad_signature_length"
  | "parse.unknown_field"
  | `parse.bad_field:${string}`
  | "chain.empty_bundle"
  | "chain.bad_certificate"
  | "chain.untrusted_root"
  | "chain.bad_signature"
  | "chain.expired"
  | "chain.not_yet_valid"
  | "chain.not_ca"
  | "chain.path_length"
  | "chain.key_usage"
  | "chain.bad_key"
  | "chain.unknown_critical_extension"
  | "cose.bad_signature"
  | "freshness.stale"
  | "freshness.future"
  | "nonce.mismatch"
  | "pcr.mismatch"
  | "pcr.instance_mismatch"
  | "pcr.role_mismatch"
  | "doc.debug_mode"
  | "options.invalid"
  | "internal.error";

export interface Reason {
  code: ReasonCode;
  message: string;
}

export type RootKind = "aws" | "lab";

/** A pinned trust anchor. Create with trustedRootFromPem (which parses and hashes it once). */
export interface TrustedRoot {
  kind: RootKind;
  label: string;
  /** SHA-256 (hex) of the DER. */
  sha256: string;
  der: Uint8Array;
}

export interface CertificateSummary {
  /** SHA-256 (hex) of the DER bytes as carried in the document. */
  sha256: string;
  length: number;
}

/** The decoded payload, in display-friendly form. Binary values are lower-case hex. */
export interface AttestationDocument {
  moduleId: string;
  digest: "SHA384";
  timestamp: Date;
  timestampMs: number;
  /** PCR index -> 96 hex chars (SHA-384). */
  pcrs: Record<number, string>;
  certificate: CertificateSummary;
  /** Root first, as in the document. */
  cabundle: CertificateSummary[];
  publicKey: string | null;
  userData: string | null;
  nonce: string | null;
}

/** The COSE_Sign1 envelope with the ORIGINAL byte strings (views into the input; nothing re-serialised). */
export interface CoseSign1 {
  tagged: boolean;
  protectedHeader: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  /** Leaf certificate DER and CA bundle DERs (root first), as carried in the payload. */
  certificate: Uint8Array;
  cabundle: Uint8Array[];
}

export type ParseResult =
  | { ok: true; document: AttestationDocument; cose: CoseSign1 }
  | { ok: false; reason: Reason; reasons: Reason[] };

export interface ChainCertificate {
  /** "position" in the path: "root", "intermediate" or "leaf". */
  role: "root" | "intermediate" | "leaf";
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  sha256: string;
  isCa: boolean;
  pathLen: number | null;
  /** Validity of this certificate at the document timestamp and at the verification time. */
  validAtIssuance: boolean;
  validNow: boolean;
}

export interface RootMatch {
  kind: RootKind;
  label: string;
  sha256: string;
}

/** Everything the verifier concluded. Verdicts are kept apart; `trusted` requires all of them and no reasons. */
export interface AttestationVerification {
  trusted: boolean;
  reasons: Reason[];
  /** SHA-256 (hex) of the whole input as given. */
  sha256: string;
  /** The verification time used for validNow/fresh. */
  verifiedAt: Date;
  document: AttestationDocument | null;
  /** Root first, leaf last (the order of the document's cabundle followed by its certificate). */
  chain: ChainCertificate[];
  root: RootMatch | null;
  /** PCR0, PCR1 and PCR2 are all zero: an enclave started with --debug-mode. Null when the document did not parse. */
  debug: boolean | null;
  /** Chain anchored in a trusted root and COSE signature valid, with every certificate valid at the document timestamp. */
  validAtIssuance: boolean;
  /** The same, with every certificate valid at the verification time. */
  validNow: boolean;
  /** validNow, the document is no older than the freshness window (and not from the future), and the nonce matches when one was expected. */
  fresh: boolean;
  /** Expected PCRs, instance, role and the debug rule all satisfied. */
  matchesPolicy: boolean;
}

export interface VerifyOptions {
  /** Verification time for validNow/fresh (default: now). */
  at?: Date;
  /** Pinned roots (default: the AWS Nitro Enclaves Root-G1 only). */
  trustedRoots?: readonly TrustedRoot[];
  /** PCR index -> expected hex (case-insensitive). An empty object is rejected (fail closed); omit it to skip. */
  expectedPcrs?: Partial<Record<number, string>>;
  /** Hex of the nonce we sent. */
  expectedNonce?: string;
  /** Maximum age of the document at `at` (default 5 minutes). */
  freshnessMs?: number;
  /** Accept debug-mode documents (PCR0/1/2 zero) in matchesPolicy. */
  allowDebug?: boolean;
  /** Parent EC2 instance id: PCR4 must be SHA-384(48 zero bytes || id). */
  expectedInstanceId?: string;
  /** IAM role ARN of the parent instance: PCR3 must be SHA-384(48 zero bytes || arn). */
  expectedRoleArn?: string;
  /** Cache of verified chains (default: a process-wide cache). */
  chainCache?: ChainCache;
}

/** Opaque cache of verified certificate chains; create with createChainCache(). */
export interface ChainCache {
  readonly maxEntries: number;
  readonly size: number;
  clear(): void;
}

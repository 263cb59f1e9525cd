/**
 * verifyAttestationDocument: the one entry point that turns untrusted bytes into verdicts. Pure (no I/O) and total:
 * it never throws, and every failure becomes a Reason with a stable code.
 *
 * Verdicts are kept apart because they answer different questions:
 * - validAtIssuance: was this produced by genuine Nitro hardware (chain + signature at the document's timestamp)?
 * - validNow / fresh: can we rely on it now (chain still valid at `at`, recent enough, answering our nonce)?
 * - matchesPolicy: is it the enclave we expect (PCRs, parent instance, role, no debug mode)?
 */
import { timingSafeEqual, verify as cryptoVerify } from "node:crypto";
import { checkChain, defaultChainCache, validAt, validityReasons } from "./chain";
import { sigStructure } from "./cbor";
import { MAX_DOCUMENT_BYTES, parseAttestationDocument, sha256Hex } from "./document";
import { isDebugPcrs, normalisePcrHex, pcrForInstanceId, pcrForRoleArn } from "./pcr";
import { awsNitroRootG1 } from "./roots";
import type { AttestationDocument, AttestationVerification, ChainCertificate, Reason, VerifyOptions } from "./types";

export const DEFAULT_FRESHNESS_MS = 5 * 60 * 1000;
/** Tolerated clock skew for a document timestamp that lies after the verification time. */
export const MAX_FUTURE_SKEW_MS = 60 * 1000;

function emptyResult(bytes: Uint8Array, at: Date, reasons: Reason[]): AttestationVerification {
  return {
    trusted: false,
    reasons,
    sha256: bytes instanceof Uint8Array && bytes.length <= MAX_DOCUMENT_BYTES ? sha256Hex(bytes) : "",
    verifiedAt: at,
    document: null,
    chain: [],
    root: null,
    debug: null,
    validAtIssuance: false,
    validNow: false,
    fresh: false,
    matchesPolicy: false,
  };
}

/** Verifies a raw attestation document (COSE_Sign1 bytes). Never throws. */
export function verifyAttestationDocument(bytes: Uint8Array, options: VerifyOptions = {}): AttestationVerification {
  const at = options.at instanceof Date && !Number.isNaN(options.at.getTime()) ? options.at : new Date();
  try {
    return verify(bytes, options, at);
  } catch (error) {
    return emptyResult(bytes, at, [{ code: "internal.error", message: `verifier failure: ${error instanceof Error ? error.message : String(error)}` }]);
  }
}

function optionReasons(options: VerifyOptions): Reason[] {
  const reasons: Reason[] = [];
  const bad = (message: string) => reasons.push({ code: "options.invalid", message });
  if (options.at !== undefined && !(options.at instanceof Date && !Number.isNaN(options.at.getTime()))) bad("at is not a valid Date");
  if (options.freshnessMs !== undefined && !(Number.isFinite(options.freshnessMs) && options.freshnessMs >= 0)) bad("freshnessMs must be a non-negative number");
  if (options.expectedPcrs !== undefined) {
    const entries = Object.entries(options.expectedPcrs).filter(([, value]) => value !== undefined);
    // An empty expectation would silently skip the PCR check; fail closed instead (omit the option to skip it).
    if (entries.length === 0) bad("expectedPcrs is empty; omit it to skip the PCR check");
    for (const [index, value] of entries) {
      if (!/^(?:[0-9]|[12][0-9]|3[01])$/.test(index)) bad(`expectedPcrs index ${index} is not in 0..31`);
      if (typeof value !== "string" || normalisePcrHex(value) === null) bad(`expectedPcrs[${index}] is not 96 hex characters`);
    }
  }
  if (options.expectedNonce !== undefined && !/^(?:[0-9a-fA-F]{2})*$/.test(options.expectedNonce)) bad("expectedNonce is not hex");
  if (options.expectedInstanceId !== undefined && options.expectedInstanceId.length === 0) bad("expectedInstanceId is empty");
  if (options.expectedRoleArn !== undefined && options.expectedRoleArn.length === 0) bad("expectedRoleArn is empty");
  if (options.trustedRoots !== undefined && options.trustedRoots.length === 0) bad("trustedRoots is empty");
  return reasons;
}

function verify(bytes: Uint8Array, options: VerifyOptions, at: Date): AttestationVerification {
  const optionProblems = optionReasons(options);
  const parsed = parseAttestationDocument(bytes);
  if (!parsed.ok) return emptyResult(bytes, at, [...optionProblems, ...parsed.reasons]);
  const { document, cose } = parsed;
  const atMs = at.getTime();

  const roots = options.trustedRoots && options.trustedRoots.length > 0 ? options.trustedRoots : [awsNitroRootG1()];
  const hashes = [...document.cabundle.map((cert) => cert.sha256), document.certificate.sha256];
  const chain = checkChain(cose.certificate, cose.cabundle, roots, options.chainCache ?? defaultChainCache(), hashes);

  let signatureOk = false;
  if (chain.leafKey) {
    try {
      signatureOk = cryptoVerify("sha384", sigStructure(cose.protectedHeader, cose.payload), { key: chain.leafKey, dsaEncoding: "ieee-p1363" }, cose.signature);
    } catch {
      signatureOk = false;
    }
  }
  const signatureReasons: Reason[] = signatureOk ? [] : [{ code: "cose.bad_signature", message: chain.leafKey ? "COSE_Sign1 signature does not verify with the leaf certificate's key" : "no usable P-384 leaf key to verify the COSE_Sign1 signature" }];

  const issuanceValidity = validityReasons(chain.certificates, document.timestampMs, "document timestamp");
  const nowValidity = validityReasons(chain.certificates, atMs, "verification time");
  const authentic = chain.reasons.length === 0 && signatureOk;
  const validAtIssuance = authentic && issuanceValidity.length === 0;
  const validNow = authentic && nowValidity.length === 0;

  const freshness = freshnessReasons(document, atMs, options);
  const fresh = validNow && freshness.length === 0;

  const debug = isDebugPcrs(document.pcrs);
  const policy = policyReasons(document, debug, options);
  const matchesPolicy = policy.length === 0 && optionProblems.length === 0;

  const reasons = dedupe([...optionProblems, ...chain.reasons, ...signatureReasons, ...issuanceValidity, ...nowValidity, ...freshness, ...policy]);
  const chainView: ChainCertificate[] = chain.certificates.map((cert) => ({
    role: cert.role,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: new Date(cert.notBeforeMs),
    notAfter: new Date(cert.notAfterMs),
    sha256: cert.sha256,
    isCa: cert.isCa,
    pathLen: cert.pathLen,
    validAtIssuance: validAt(cert, document.timestampMs),
    validNow: validAt(cert, atMs),
  }));
  return {
    trusted: validAtIssuance && validNow && fresh && matchesPolicy && reasons.length === 0,
    reasons,
    sha256: sha256Hex(bytes),
    verifiedAt: at,
    document,
    chain: chainView,
    root: chain.root,
    debug,
    validAtIssuance,
    validNow,
    fresh,
    matchesPolicy,
  };
}

function freshnessReasons(document: AttestationDocument, atMs: number, options: VerifyOptions): Reason[] {
  const reasons: Reason[] = [];
  const windowMs = options.freshnessMs !== undefined && Number.isFinite(options.freshnessMs) && options.freshnessMs >= 0 ? options.freshnessMs : DEFAULT_FRESHNESS_MS;
  const ageMs = atMs - document.timestampMs;
  if (ageMs > windowMs) {
    reasons.push({ code: "freshness.stale", message: `document is ${formatDuration(ageMs)} old; the freshness window is ${formatDuration(windowMs)}` });
  } else if (ageMs < -MAX_FUTURE_SKEW_MS) {
    reasons.push({ code: "freshness.future", message: `document timestamp is ${formatDuration(-ageMs)} after the verification time` });
  }
  if (options.expectedNonce !== undefined) {
    const expected = Buffer.from(options.expectedNonce, "hex");
    const actual = document.nonce === null ? null : Buffer.from(document.nonce, "hex");
    const equal = actual !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
    if (!equal) {
      reasons.push({ code: "nonce.mismatch", message: actual === null ? "document carries no nonce but one was expected" : "document nonce differs from the expected nonce" });
    }
  }
  return reasons;
}

function policyReasons(document: AttestationDocument, debug: boolean, options: VerifyOptions): Reason[] {
  const reasons: Reason[] = [];
  if (debug && !options.allowDebug) {
    reasons.push({ code: "doc.debug_mode", message: "PCR0, PCR1 and PCR2 are all zero: the enclave runs in debug mode and its memory is readable by the host" });
  }
  for (const [index, value] of Object.entries(options.expectedPcrs ?? {})) {
    if (typeof value !== "string") continue;
    const expected = normalisePcrHex(value);
    const actual = document.pcrs[Number(index)];
    if (expected !== null && actual !== expected) {
      reasons.push({ code: "pcr.mismatch", message: `PCR${index} is ${actual ?? "absent"}, expected ${expected}` });
    }
  }
  if (options.expectedInstanceId !== undefined && document.pcrs[4] !== pcrForInstanceId(options.expectedInstanceId)) {
    reasons.push({ code: "pcr.instance_mismatch", message: `PCR4 does not measure parent instance ${options.expectedInstanceId}` });
  }
  if (options.expectedRoleArn !== undefined && document.pcrs[3] !== pcrForRoleArn(options.expectedRoleArn)) {
    reasons.push({ code: "pcr.role_mismatch", message: `PCR3 does not measure IAM role ${options.expectedRoleArn}` });
  }
  return reasons;
}

function dedupe(reasons: Reason[]): Reason[] {
  const seen = new Set<string>();
  return reasons.filter((reason) => {
    const key = `${reason.code}\u0000${reason.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes}min`;
  return `${(minutes / 60).toFixed(1)}h`;
}

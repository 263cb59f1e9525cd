/**
 * Parsing of a Nitro attestation document (COSE_Sign1 + payload) into typed fields, with no cryptography.
 * Rules follow aws-nitro-enclaves-nsm-api docs/attestation_process.md §2.2/§3.2.2, adjusted to what real
 * hardware emits (see /work/shared/research/nitro-attestation.md §1.2): optional fields arrive as CBOR null,
 * user_data/nonce/public_key go up to 1024 bytes (not 512).
 */
import { hash } from "node:crypto";
import { CborError, decodeCbor, describeKey, type CborValue } from "./cbor";
import type { AttestationDocument, CertificateSummary, CoseSign1, ParseResult, Reason, ReasonCode } from "./types";

/** Whole-document bound: real documents are 4-8 KiB. Checked before any parsing so huge inputs fail at once. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** The payload CDDL allows 1..16384 bytes (§3.1). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
/** Envelope and payload need depth 3 (map -> pcrs map -> bstr); anything deeper is not an attestation document. */
const MAX_DEPTH = 4;
/** Per field sizes from the CDDL: cert 1..1024, user_data 0..1024. Real certificates are 533..794 bytes. */
const MAX_CERT_BYTES = 1024;
const MAX_USER_BYTES = 1024;
/** Real bundles carry 4 CAs (root, regional, zonal, instance); each costs an ECDSA verify, so bound the work. */
const MAX_CABUNDLE = 8;
const MAX_MODULE_ID_CHARS = 256;
const PCR_BYTES = 48;
const MAX_PCRS = 32;

/** The only protected header we accept: bstr-wrapped {1: -35} (alg: ES384). */
const ES384_PROTECTED = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);
const COSE_SIGN1_TAG = 18;
const ES384_SIGNATURE_BYTES = 96;

const FIELDS = ["module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce"] as const;
type FieldName = (typeof FIELDS)[number];

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function sha256Hex(bytes: Uint8Array): string {
  // One-shot: a document needs six of these, and a Hash object per digest was a visible share of a cold verify.
  return hash("sha256", bytes, "hex");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function reason(code: ReasonCode, message: string): Reason {
  return { code, message };
}

function failure(reasons: Reason[]): ParseResult {
  return { ok: false, reason: reasons[0]!, reasons };
}

function decode(bytes: Uint8Array, what: string, tags?: readonly number[]): CborValue | Reason {
  try {
    return decodeCbor(bytes, { maxDepth: MAX_DEPTH, allowedTopLevelTags: tags });
  } catch (error) {
    if (error instanceof CborError) return reason(error.code, `${what}: ${error.message} (offset ${error.offset})`);
    throw error;
  }
}

function isReason(value: CborValue | Reason): value is Reason {
  return "code" in value;
}

/** Parses without verifying anything cryptographic. Never throws. */
export function parseAttestationDocument(bytes: Uint8Array): ParseResult {
  try {
    return parse(bytes);
  } catch (error) {
    return failure([reason("internal.error", `parser failure: ${error instanceof Error ? error.message : String(error)}`)]);
  }
}

function parse(bytes: Uint8Array): ParseResult {
  if (!(bytes instanceof Uint8Array)) return failure([reason("parse.bad_structure", "input is not a byte array")]);
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    return failure([reason("parse.too_large", `document is ${bytes.length} bytes; the limit is ${MAX_DOCUMENT_BYTES}`)]);
  }
  if (bytes.length === 0) return failure([reason("parse.truncated", "document is empty")]);
  // Work on a plain Uint8Array view: subarrays of a Buffer are Buffers, which cost more to create and collect.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = decode(view, "COSE_Sign1", [COSE_SIGN1_TAG]);
  if (isReason(top)) return failure([top]);
  const tagged = top.kind === "tag";
  const envelope = top.kind === "tag" ? top.value : top;
  if (envelope.kind !== "array" || envelope.items.length !== 4) {
    return failure([reason("parse.bad_structure", "COSE_Sign1 must be an array of 4 items [protected, unprotected, payload, signature]")]);
  }
  const [protectedItem, unprotectedItem, payloadItem, signatureItem] = envelope.items as [CborValue, CborValue, CborValue, CborValue];
  const reasons: Reason[] = [];

  if (protectedItem.kind !== "bytes") {
    reasons.push(reason("parse.bad_header", "protected header must be a byte string"));
  } else if (!bytesEqual(protectedItem.value, ES384_PROTECTED)) {
    reasons.push(protectedHeaderReason(protectedItem.value));
  }
  if (unprotectedItem.kind !== "map" || unprotectedItem.entries.length !== 0) {
    reasons.push(reason("parse.bad_header", `unprotected header must be an empty map (found ${unprotectedItem.kind === "map" ? `${unprotectedItem.entries.length} entries` : unprotectedItem.kind})`));
  }
  if (signatureItem.kind !== "bytes") {
    reasons.push(reason("parse.bad_structure", "signature must be a byte string"));
  } else if (signatureItem.value.length !== ES384_SIGNATURE_BYTES) {
    reasons.push(reason("parse.bad_signature_length", `ES384 signature must be ${ES384_SIGNATURE_BYTES} bytes (r||s); found ${signatureItem.value.length}`));
  }
  if (payloadItem.kind !== "bytes") {
    reasons.push(reason("parse.bad_structure", "payload must be a byte string"));
    return failure(reasons);
  }
  if (payloadItem.value.length === 0 || payloadItem.value.length > MAX_PAYLOAD_BYTES) {
    reasons.push(reason("parse.bad_structure", `payload must be 1..${MAX_PAYLOAD_BYTES} bytes; found ${payloadItem.value.length}`));
    return failure(reasons);
  }
  const payload = decode(payloadItem.value, "payload");
  if (isReason(payload)) return failure([...reasons, payload]);
  const fields = readPayload(payload, reasons);
  if (!fields || reasons.length > 0) return failure(reasons);
  const cose: CoseSign1 = {
    tagged,
    protectedHeader: (protectedItem as { value: Uint8Array }).value,
    payload: payloadItem.value,
    signature: (signatureItem as { value: Uint8Array }).value,
    certificate: fields.certificate,
    cabundle: fields.cabundle,
  };
  return { ok: true, document: fields.document, cose };
}

function protectedHeaderReason(bytes: Uint8Array): Reason {
  const header = decode(bytes, "protected header");
  if (isReason(header)) return reason("parse.bad_header", `protected header is not the bstr-wrapped map {1: -35}: ${header.message}`);
  if (header.kind === "map") {
    const alg = header.entries.find(([key]) => key.kind === "uint" && key.value === 1);
    if (alg && !(alg[1].kind === "nint" && alg[1].value === -35)) {
      const shown = alg[1].kind === "uint" || alg[1].kind === "nint" || alg[1].kind === "text" ? String(alg[1].value) : alg[1].kind;
      return reason("parse.bad_alg", `algorithm ${shown} is not accepted; only ES384 (-35)`);
    }
  }
  return reason("parse.bad_header", "protected header must be exactly the map {1: -35} (alg: ES384)");
}

interface PayloadFields {
  document: AttestationDocument;
  certificate: Uint8Array;
  cabundle: Uint8Array[];
}

function readPayload(payload: CborValue, reasons: Reason[]): PayloadFields | null {
  if (payload.kind !== "map") {
    reasons.push(reason("parse.bad_structure", "payload must be a CBOR map"));
    return null;
  }
  const values = new Map<FieldName, CborValue>();
  for (const [key, value] of payload.entries) {
    if (key.kind !== "text") {
      reasons.push(reason("parse.bad_structure", `payload key ${describeKey(key)} is not text`));
      continue;
    }
    if (!(FIELDS as readonly string[]).includes(key.value)) {
      reasons.push(reason("parse.unknown_field", `unknown payload field ${describeKey(key)}`));
      continue;
    }
    values.set(key.value as FieldName, value);
  }
  const bad = (field: FieldName, message: string): null => {
    reasons.push(reason(`parse.bad_field:${field}`, `${field}: ${message}`));
    return null;
  };
  const required = (field: FieldName): CborValue | null => values.get(field) ?? bad(field, "missing");

  const moduleIdValue = required("module_id");
  let moduleId: string | null = null;
  if (moduleIdValue) {
    if (moduleIdValue.kind !== "text" || moduleIdValue.value.length === 0 || moduleIdValue.value.length > MAX_MODULE_ID_CHARS) {
      bad("module_id", `must be non-empty text of at most ${MAX_MODULE_ID_CHARS} characters`);
    } else moduleId = moduleIdValue.value;
  }

  const digestValue = required("digest");
  if (digestValue && !(digestValue.kind === "text" && digestValue.value === "SHA384")) bad("digest", 'must be the text "SHA384"');

  const timestampValue = required("timestamp");
  let timestampMs: number | null = null;
  if (timestampValue) {
    if (timestampValue.kind !== "uint" || typeof timestampValue.value !== "number" || timestampValue.value <= 0) {
      bad("timestamp", "must be an unsigned integer > 0 (milliseconds since the epoch)");
    } else timestampMs = timestampValue.value;
  }

  const pcrs = readPcrs(required("pcrs"), bad);
  const certificate = readCert(required("certificate"), "certificate", bad);
  const cabundle = readCabundle(required("cabundle"), bad);
  const publicKey = readOptionalBytes(values.get("public_key"), "public_key", bad);
  const userData = readOptionalBytes(values.get("user_data"), "user_data", bad);
  const nonce = readOptionalBytes(values.get("nonce"), "nonce", bad);

  if (reasons.length > 0 || moduleId === null || timestampMs === null || !pcrs || !certificate || !cabundle) return null;
  if (publicKey === false || userData === false || nonce === false) return null;
  const summary = (der: Uint8Array): CertificateSummary => ({ sha256: sha256Hex(der), length: der.length });
  return {
    document: {
      moduleId,
      digest: "SHA384",
      timestamp: new Date(timestampMs),
      timestampMs,
      pcrs,
      certificate: summary(certificate),
      cabundle: cabundle.map(summary),
      publicKey: publicKey === null ? null : toHex(publicKey),
      userData: userData === null ? null : toHex(userData),
      nonce: nonce === null ? null : toHex(nonce),
    },
    certificate,
    cabundle,
  };
}

type Bad = (field: FieldName, message: string) => null;

function readPcrs(value: CborValue | null, bad: Bad): Record<number, string> | null {
  if (!value) return null;
  if (value.kind !== "map" || value.entries.length === 0 || value.entries.length > MAX_PCRS) {
    return bad("pcrs", `must be a map of 1..${MAX_PCRS} entries`);
  }
  const pcrs: Record<number, string> = {};
  for (const [key, pcr] of value.entries) {
    if (key.kind !== "uint" || typeof key.value !== "number" || key.value >= MAX_PCRS) {
      return bad("pcrs", `index ${describeKey(key)} is not an unsigned integer in 0..${MAX_PCRS - 1}`);
    }
    // The spec allows 32/48/64-byte PCRs, but digest must be SHA384 (checked above), which means 48 bytes.
    if (pcr.kind !== "bytes" || pcr.value.length !== PCR_BYTES) {
      return bad("pcrs", `PCR${key.value} must be a ${PCR_BYTES}-byte string (SHA-384)`);
    }
    pcrs[key.value] = toHex(pcr.value);
  }
  return pcrs;
}

function readCert(value: CborValue | null, field: FieldName, bad: Bad): Uint8Array | null {
  if (!value) return null;
  if (value.kind !== "bytes" || value.value.length === 0 || value.value.length > MAX_CERT_BYTES) {
    return bad(field, `must be a DER certificate of 1..${MAX_CERT_BYTES} bytes`);
  }
  return value.value;
}

function readCabundle(value: CborValue | null, bad: Bad): Uint8Array[] | null {
  if (!value) return null;
  // An empty array is well-formed CBOR per the CDDL ([* cert]); the chain check reports it as chain.empty_bundle.
  if (value.kind !== "array" || value.items.length > MAX_CABUNDLE) return bad("cabundle", `must be an array of at most ${MAX_CABUNDLE} certificates`);
  const certs: Uint8Array[] = [];
  for (const item of value.items) {
    if (item.kind !== "bytes" || item.value.length === 0 || item.value.length > MAX_CERT_BYTES) {
      return bad("cabundle", `every entry must be a DER certificate of 1..${MAX_CERT_BYTES} bytes`);
    }
    certs.push(item.value);
  }
  return certs;
}

/** Absent or CBOR null -> null; bstr of 0..1024 bytes -> bytes; anything else -> false (a reason was recorded). */
function readOptionalBytes(value: CborValue | undefined, field: FieldName, bad: Bad): Uint8Array | null | false {
  if (value === undefined || (value.kind === "simple" && value.value === null)) return null;
  if (value.kind !== "bytes" || value.value.length > MAX_USER_BYTES) {
    bad(field, `must be a byte string of 0..${MAX_USER_BYTES} bytes or null`);
    return false;
  }
  return value.value;
}

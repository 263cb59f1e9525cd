/**
 * A small strict DER reader for the parts of an X.509 certificate that node:crypto's X509Certificate does not
 * expose: the exact validity instants, basicConstraints (cA, pathLenConstraint), keyUsage bits, the signature
 * algorithm and which extensions are critical. Node has already parsed the certificate with OpenSSL; this reader
 * only has to be exact, and it throws DerError on anything that is not plain DER.
 */

import { toHex as hex } from "./document";

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

interface Tlv {
  tag: number;
  /** Content bytes (view into the input). */
  value: Uint8Array;
  /** Offset just after this element. */
  end: number;
}

function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated element");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("high tag numbers are not used in certificates");
  let length = bytes[offset + 1]!;
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3) throw new DerError("unsupported length form");
    if (pos + count > limit) throw new DerError("truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[pos + i]!;
    pos += count;
    if (length < 0x80 || (count > 1 && length < 1 << (8 * (count - 1)))) throw new DerError("non-minimal length");
  }
  if (length > limit - pos) throw new DerError("length exceeds the enclosing element");
  return { tag, value: bytes.subarray(pos, pos + length), end: pos + length };
}

/** Reads the elements of a constructed value in order. */
function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < value.length) {
    const tlv = readTlv(value, pos, value.length);
    out.push(tlv);
    pos = tlv.end;
  }
  return out;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

const SEQUENCE = 0x30;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

const OID_BASIC_CONSTRAINTS = "551d13"; // 2.5.29.19
const OID_KEY_USAGE = "551d0f"; // 2.5.29.15
export const OID_ECDSA_WITH_SHA384 = "2a8648ce3d040303"; // 1.2.840.10045.4.3.3
const OID_EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1
const OID_SECP384R1 = "2b81040022"; // 1.3.132.0.34

export const KEY_USAGE_NAMES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"] as const;
export type KeyUsage = (typeof KEY_USAGE_NAMES)[number];

export interface CertificateFields {
  /** Hex of the signature algorithm OID (outer and TBS must agree). */
  signatureAlgorithm: string;
  notBeforeMs: number;
  notAfterMs: number;
  basicConstraints: { ca: boolean; pathLen: number | null } | null;
  keyUsage: KeyUsage[] | null;
  /** The subject key is an uncompressed P-384 EC point (id-ecPublicKey with namedCurve secp384r1). */
  p384Key: boolean;
  /** Hex OIDs of critical extensions other than basicConstraints and keyUsage. */
  unknownCritical: string[];
}

function digits(bytes: Uint8Array, offset: number, count: number): number {
  let value = 0;
  for (let i = offset; i < offset + count; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) throw new DerError("malformed time");
    value = value * 10 + digit;
  }
  return value;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (the only forms RFC 5280 §4.1.2.5 allows). */
function parseTime(tlv: Tlv): number {
  const v = tlv.value;
  let year: number;
  let pos: number;
  if (tlv.tag === UTC_TIME && v.length === 13) {
    const yy = digits(v, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
    pos = 2;
  } else if (tlv.tag === GENERALIZED_TIME && v.length === 15) {
    year = digits(v, 0, 4);
    pos = 4;
  } else throw new DerError("expected a UTCTime or GeneralizedTime in Z form");
  if (v[v.length - 1] !== 0x5a) throw new DerError("time is not in UTC (Z)");
  const month = digits(v, pos, 2);
  const day = digits(v, pos + 2, 2);
  const hour = digits(v, pos + 4, 2);
  const minute = digits(v, pos + 6, 2);
  const second = digits(v, pos + 8, 2);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (month < 1 || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError("invalid calendar time");
  }
  return ms;
}

function parseBasicConstraints(value: Uint8Array): { ca: boolean; pathLen: number | null } {
  const seq = readTlv(value, 0, value.length);
  if (seq.tag !== SEQUENCE || seq.end !== value.length) throw new DerError("basicConstraints is not a SEQUENCE");
  const items = children(seq.value);
  let index = 0;
  let ca = false;
  if (items[index]?.tag === BOOLEAN) {
    const flag = items[index]!.value;
    if (flag.length !== 1 || (flag[0] !== 0xff && flag[0] !== 0x00)) throw new DerError("bad BOOLEAN");
    ca = flag[0] === 0xff;
    index++;
  }
  let pathLen: number | null = null;
  if (items[index]?.tag === INTEGER) {
    const int = items[index]!.value;
    if (int.length === 0 || int.length > 2 || (int[0]! & 0x80) !== 0) throw new DerError("bad pathLenConstraint");
    pathLen = int.length === 1 ? int[0]! : (int[0]! << 8) | int[1]!;
    index++;
  }
  if (index !== items.length) throw new DerError("unexpected content in basicConstraints");
  return { ca, pathLen };
}

function parseKeyUsage(value: Uint8Array): KeyUsage[] {
  const bits = readTlv(value, 0, value.length);
  if (bits.tag !== BIT_STRING || bits.end !== value.length || bits.value.length < 1 || bits.value[0]! > 7) {
    throw new DerError("keyUsage is not a BIT STRING");
  }
  const usages: KeyUsage[] = [];
  KEY_USAGE_NAMES.forEach((name, bit) => {
    const byte = bits.value[1 + (bit >> 3)];
    if (byte !== undefined && byte & (0x80 >> (bit & 7))) usages.push(name);
  });
  return usages;
}

function isP384Spki(spki: Uint8Array): boolean {
  const [algorithm, key] = children(spki);
  if (!algorithm || algorithm.tag !== SEQUENCE || !key || key.tag !== BIT_STRING) return false;
  const [oid, curve] = children(algorithm.value);
  return (
    oid?.tag === OID &&
    hex(oid.value) === OID_EC_PUBLIC_KEY &&
    curve?.tag === OID &&
    hex(curve.value) === OID_SECP384R1 &&
    key.value.length === 98 && // 0 unused bits, 0x04 (uncompressed), X and Y of 48 bytes
    key.value[0] === 0 &&
    key.value[1] === 0x04
  );
}

/** Extracts the fields the chain rules need. Throws DerError when the DER is not a well-formed certificate. */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== SEQUENCE || cert.end !== der.length) throw new DerError("certificate is not one SEQUENCE");
  const [tbs, outerAlg, signature, ...rest] = children(cert.value);
  if (rest.length > 0) throw new DerError("extra elements after the signature");
  expect(tbs, SEQUENCE, "TBSCertificate");
  expect(signature, BIT_STRING, "signature BIT STRING");
  const outerAlgOid = hex(expect(children(expect(outerAlg, SEQUENCE, "signatureAlgorithm").value)[0], OID, "algorithm OID").value);

  const fields = children(tbs!.value);
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] version
  expect(fields[i++], INTEGER, "serialNumber");
  const innerAlgOid = hex(expect(children(expect(fields[i++], SEQUENCE, "signature").value)[0], OID, "algorithm OID").value);
  if (innerAlgOid !== outerAlgOid) throw new DerError("TBS and outer signature algorithms differ");
  expect(fields[i++], SEQUENCE, "issuer");
  const validity = children(expect(fields[i++], SEQUENCE, "validity").value);
  if (validity.length !== 2) throw new DerError("validity must hold two times");
  const notBeforeMs = parseTime(validity[0]!);
  const notAfterMs = parseTime(validity[1]!);
  expect(fields[i++], SEQUENCE, "subject");
  const p384Key = isP384Spki(expect(fields[i++], SEQUENCE, "subjectPublicKeyInfo").value);
  if (fields[i]?.tag === 0x81) i++; // [1] issuerUniqueID
  if (fields[i]?.tag === 0x82) i++; // [2] subjectUniqueID

  let basicConstraints: CertificateFields["basicConstraints"] = null;
  let keyUsage: KeyUsage[] | null = null;
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  if (fields[i]?.tag === 0xa3) {
    const wrapper = fields[i++]!;
    const list = readTlv(wrapper.value, 0, wrapper.value.length);
    if (list.tag !== SEQUENCE || list.end !== wrapper.value.length) throw new DerError("extensions are not a SEQUENCE");
    for (const extension of children(list.value)) {
      if (extension.tag !== SEQUENCE) throw new DerError("extension is not a SEQUENCE");
      const parts = children(extension.value);
      const oid = hex(expect(parts[0], OID, "extension OID").value);
      if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
      seen.add(oid);
      let critical = false;
      let index = 1;
      if (parts[index]?.tag === BOOLEAN) {
        critical = parts[index]!.value[0] === 0xff;
        index++;
      }
      const value = expect(parts[index], OCTET_STRING, "extnValue").value;
      if (index + 1 !== parts.length) throw new DerError("unexpected content in extension");
      if (oid === OID_BASIC_CONSTRAINTS) basicConstraints = parseBasicConstraints(value);
      else if (oid === OID_KEY_USAGE) keyUsage = parseKeyUsage(value);
      else if (critical) unknownCritical.push(oid);
    }
  }
  if (i !== fields.length) throw new DerError("unexpected fields in TBSCertificate");
  return { signatureAlgorithm: outerAlgOid, notBeforeMs, notAfterMs, basicConstraints, keyUsage, p384Key, unknownCritical };
}

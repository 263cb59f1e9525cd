/**
 * A small strict DER reader for X.509 certificates of the Nitro profile. It yields what the chain rules need
 * (validity instants, basicConstraints, keyUsage, key identifiers, the signature algorithm, critical extensions)
 * and what the signature check needs (the exact TBSCertificate bytes, the signature value, the issuer and subject
 * Name encodings, the SubjectPublicKeyInfo), so a cold verification does not parse every certificate a second
 * time with OpenSSL (new X509Certificate costs about as much as creating the public key, ~120 us a certificate).
 *
 * It throws DerError on anything that is not plain DER. Whatever it does not fully interpret itself (unique
 * identifiers, an extension outside the set below, an authorityKeyIdentifier naming the issuer, a Name that is
 * not plain printable ASCII) clears `fullyRead`, and chain.ts then also has OpenSSL parse and link that
 * certificate, as it always did: the reader only takes over the cases it can vouch for.
 *
 * Elements are tracked as offsets into the certificate and only the kept fields become subarrays: a cold
 * verification parses five certificates, and allocating a view per element showed up in its cost.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** One element of `bytes`: its tag, where it starts, where its content starts, and the offset just after it. */
interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
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
  return { tag, start: offset, valueStart: pos, end: pos + length };
}

/** Reads the elements of a constructed element's content in order. */
function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.valueStart;
  while (pos < parent.end) {
    const tlv = readTlv(bytes, pos, parent.end);
    out.push(tlv);
    pos = tlv.end;
  }
  return out;
}

/** Reads an extension's extnValue content as exactly one element (nothing before or after it). */
function single(bytes: Uint8Array, within: Tlv, tag: number, what: string): Tlv {
  const tlv = readTlv(bytes, within.valueStart, within.end);
  if (tlv.tag !== tag || tlv.end !== within.end) throw new DerError(`${what} is not one element of tag 0x${tag.toString(16)}`);
  return tlv;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

function content(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.valueStart, tlv.end);
}

function whole(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.start, tlv.end);
}

function length(tlv: Tlv): number {
  return tlv.end - tlv.valueStart;
}

/** The content of `tlv` equals `expected`. */
function contentIs(bytes: Uint8Array, tlv: Tlv, expected: Uint8Array): boolean {
  if (tlv.end - tlv.valueStart !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[tlv.valueStart + i] !== expected[i]) return false;
  return true;
}

/** Two elements (of the same or different arrays) have identical encodings. */
function sameEncoding(a: Uint8Array, tlvA: Tlv, b: Uint8Array, tlvB: Tlv): boolean {
  if (tlvA.end - tlvA.start !== tlvB.end - tlvB.start) return false;
  for (let i = 0; i < tlvA.end - tlvA.start; i++) if (a[tlvA.start + i] !== b[tlvB.start + i]) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function hexOf(bytes: Uint8Array, tlv: Tlv): string {
  let text = "";
  for (let i = tlv.valueStart; i < tlv.end; i++) text += HEX[bytes[i]!]!;
  return text;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const IA5_STRING = 0x16;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

export const OID_ECDSA_WITH_SHA384 = "2a8648ce3d040303"; // 1.2.840.10045.4.3.3
export const OID_EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1
const ECDSA_WITH_SHA384 = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03);
const EC_PUBLIC_KEY = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const SECP384R1 = Uint8Array.of(0x2b, 0x81, 0x04, 0x00, 0x22); // 1.3.132.0.34
const BASIC_CONSTRAINTS = Uint8Array.of(0x55, 0x1d, 0x13); // 2.5.29.19
const KEY_USAGE = Uint8Array.of(0x55, 0x1d, 0x0f); // 2.5.29.15
const SUBJECT_KEY_IDENTIFIER = Uint8Array.of(0x55, 0x1d, 0x0e); // 2.5.29.14
const AUTHORITY_KEY_IDENTIFIER = Uint8Array.of(0x55, 0x1d, 0x23); // 2.5.29.35
const CRL_DISTRIBUTION_POINTS = Uint8Array.of(0x55, 0x1d, 0x1f); // 2.5.29.31
/** [0] EXPLICIT INTEGER 2: every certificate of a Nitro chain is v3 (the chain rules need its extensions). */
const VERSION_3 = Uint8Array.of(0x02, 0x01, 0x02);

export const KEY_USAGE_NAMES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"] as const;
export type KeyUsage = (typeof KEY_USAGE_NAMES)[number];

export interface CertificateFields {
  /** Hex of the signature algorithm OID (the outer and the TBS AlgorithmIdentifier are byte-identical). */
  signatureAlgorithm: string;
  /** The AlgorithmIdentifier carries parameters (ecdsa-with-SHA384 must not: RFC 5758 §3.2). */
  signatureParameters: boolean;
  /** The exact DER of the TBSCertificate: the bytes the issuer signed. */
  tbs: Uint8Array;
  /**
   * The signatureValue BIT STRING's content (for ECDSA, a DER Ecdsa-Sig-Value), or null when it declares unused
   * bits, which no signature has (OpenSSL refuses such a signature as well).
   */
  signatureValue: Uint8Array | null;
  /** Content of the serialNumber INTEGER. */
  serialNumber: Uint8Array;
  /** DER of the issuer and subject Names, for the byte-exact issuer/subject linkage. */
  issuer: Uint8Array;
  subject: Uint8Array;
  /** The Names as node:crypto's X509Certificate shows them (RDNs joined by ", "), or null (see readName). */
  issuerText: string | null;
  subjectText: string | null;
  notBeforeMs: number;
  notAfterMs: number;
  /** DER of the SubjectPublicKeyInfo and hex of its algorithm OID. */
  spki: Uint8Array;
  spkiAlgorithm: string;
  /** The subject key is an uncompressed P-384 EC point (id-ecPublicKey with namedCurve secp384r1). */
  p384Key: boolean;
  basicConstraints: { ca: boolean; pathLen: number | null } | null;
  keyUsage: KeyUsage[] | null;
  subjectKeyId: Uint8Array | null;
  authorityKeyId: { keyId: Uint8Array | null; serialNumber: Uint8Array | null } | null;
  /** Hex OIDs of critical extensions other than basicConstraints and keyUsage. */
  unknownCritical: string[];
  /** Every part of the certificate was interpreted here (see the module comment); false asks for OpenSSL too. */
  fullyRead: boolean;
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
function parseTime(bytes: Uint8Array, tlv: Tlv): number {
  const at = tlv.valueStart;
  let year: number;
  let pos: number;
  if (tlv.tag === UTC_TIME && length(tlv) === 13) {
    const yy = digits(bytes, at, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
    pos = at + 2;
  } else if (tlv.tag === GENERALIZED_TIME && length(tlv) === 15) {
    year = digits(bytes, at, 4);
    pos = at + 4;
  } else throw new DerError("expected a UTCTime or GeneralizedTime in Z form");
  if (bytes[tlv.end - 1] !== 0x5a) throw new DerError("time is not in UTC (Z)");
  const month = digits(bytes, pos, 2);
  const day = digits(bytes, pos + 2, 2);
  const hour = digits(bytes, pos + 4, 2);
  const minute = digits(bytes, pos + 6, 2);
  const second = digits(bytes, pos + 8, 2);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (month < 1 || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError("invalid calendar time");
  }
  return ms;
}

function readBoolean(bytes: Uint8Array, tlv: Tlv): boolean {
  const flag = bytes[tlv.valueStart];
  if (length(tlv) !== 1 || (flag !== 0xff && flag !== 0x00)) throw new DerError("bad BOOLEAN");
  return flag === 0xff;
}

/** A DER INTEGER's content: at least one byte and no redundant leading byte (OpenSSL refuses padding too). */
function integer(bytes: Uint8Array, tlv: Tlv, what: string): Uint8Array {
  const first = bytes[tlv.valueStart]!;
  const second = bytes[tlv.valueStart + 1]!;
  if (length(tlv) === 0 || (length(tlv) > 1 && ((first === 0x00 && (second & 0x80) === 0) || (first === 0xff && (second & 0x80) !== 0)))) {
    throw new DerError(`${what} is not a minimal INTEGER`);
  }
  return content(bytes, tlv);
}

function parseBasicConstraints(bytes: Uint8Array, extnValue: Tlv): { ca: boolean; pathLen: number | null } {
  const items = children(bytes, single(bytes, extnValue, SEQUENCE, "basicConstraints"));
  let index = 0;
  let ca = false;
  if (items[index]?.tag === BOOLEAN) ca = readBoolean(bytes, items[index++]!);
  let pathLen: number | null = null;
  if (items[index]?.tag === INTEGER) {
    const int = integer(bytes, items[index++]!, "pathLenConstraint");
    if (int.length > 2 || (int[0]! & 0x80) !== 0) throw new DerError("bad pathLenConstraint");
    pathLen = int.length === 1 ? int[0]! : (int[0]! << 8) | int[1]!;
  }
  if (index !== items.length) throw new DerError("unexpected content in basicConstraints");
  // RFC 5280 §4.2.1.9; OpenSSL marks such a certificate invalid, so it could never link into a path either.
  if (pathLen !== null && !ca) throw new DerError("pathLenConstraint without cA");
  return { ca, pathLen };
}

function parseKeyUsage(bytes: Uint8Array, extnValue: Tlv): KeyUsage[] {
  const bits = single(bytes, extnValue, BIT_STRING, "keyUsage");
  if (length(bits) < 1 || bytes[bits.valueStart]! > 7) throw new DerError("keyUsage is not a BIT STRING");
  const usages: KeyUsage[] = [];
  for (let bit = 0; bit < KEY_USAGE_NAMES.length; bit++) {
    const at = bits.valueStart + 1 + (bit >> 3);
    if (at < bits.end && bytes[at]! & (0x80 >> (bit & 7))) usages.push(KEY_USAGE_NAMES[bit]!);
  }
  return usages;
}

/** AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] authorityCertIssuer, [2] authorityCertSerialNumber } */
function parseAuthorityKeyId(bytes: Uint8Array, extnValue: Tlv): { keyId: Uint8Array | null; serialNumber: Uint8Array | null; namesIssuer: boolean } {
  const items = children(bytes, single(bytes, extnValue, SEQUENCE, "authorityKeyIdentifier"));
  let index = 0;
  let keyId: Uint8Array | null = null;
  let namesIssuer = false;
  let serialNumber: Uint8Array | null = null;
  if (items[index]?.tag === 0x80) keyId = content(bytes, items[index++]!);
  if (items[index]?.tag === 0xa1) {
    checkWellFormed(bytes, items[index++]!);
    namesIssuer = true;
  }
  if (items[index]?.tag === 0x82) serialNumber = integer(bytes, items[index++]!, "authorityCertSerialNumber");
  if (index !== items.length) throw new DerError("unexpected content in authorityKeyIdentifier");
  return { keyId, serialNumber, namesIssuer };
}

/** Every element nested in a constructed element has consistent, minimal lengths. */
function checkWellFormed(bytes: Uint8Array, tlv: Tlv): void {
  for (const child of children(bytes, tlv)) if (child.tag & 0x20) checkWellFormed(bytes, child);
}

const GENERAL_NAME_TAGS = new Set([0xa0, 0x81, 0x82, 0xa3, 0xa4, 0xa5, 0x86, 0x87, 0x88]);

/** GeneralNames by tag: each entry one of the nine GeneralName alternatives of RFC 5280 §4.2.1.6. */
function isGeneralNames(bytes: Uint8Array, tlv: Tlv): boolean {
  const names = children(bytes, tlv);
  return names.length > 0 && names.every((name) => GENERAL_NAME_TAGS.has(name.tag));
}

/**
 * cRLDistributionPoints (RFC 5280 §4.2.1.13). No verdict depends on it, but OpenSSL refuses to link a certificate
 * whose extension it cannot decode, so its shape is checked here; anything unusual is left to OpenSSL.
 */
function isCrlDistributionPoints(bytes: Uint8Array, extnValue: Tlv): boolean {
  const list = single(bytes, extnValue, SEQUENCE, "cRLDistributionPoints");
  checkWellFormed(bytes, list);
  const points = children(bytes, list);
  if (points.length === 0) return false;
  for (const point of points) {
    if (point.tag !== SEQUENCE) return false;
    const parts = children(bytes, point);
    let index = 0;
    if (parts[index]?.tag === 0xa0) {
      const name = children(bytes, parts[index++]!); // DistributionPointName: [0] fullName GeneralNames
      if (name.length !== 1 || name[0]!.tag !== 0xa0 || !isGeneralNames(bytes, name[0]!)) return false;
    }
    if (parts[index]?.tag === 0x81) index++; // reasons
    if (parts[index]?.tag === 0xa2 && isGeneralNames(bytes, parts[index]!)) index++; // cRLIssuer
    if (index === 0 || index !== parts.length) return false;
  }
  return true;
}

function readSpki(bytes: Uint8Array, spki: Tlv): { algorithm: string; p384: boolean } {
  const parts = children(bytes, spki);
  const [algorithm, key] = parts;
  if (parts.length !== 2 || !algorithm || algorithm.tag !== SEQUENCE || !key || key.tag !== BIT_STRING) throw new DerError("malformed SubjectPublicKeyInfo");
  const ids = children(bytes, algorithm);
  const [oid, curve] = ids;
  if (!oid || oid.tag !== OID) throw new DerError("malformed SubjectPublicKeyInfo algorithm");
  const ec = contentIs(bytes, oid, EC_PUBLIC_KEY);
  const p384 =
    ec &&
    ids.length === 2 &&
    curve?.tag === OID &&
    contentIs(bytes, curve, SECP384R1) &&
    length(key) === 98 && // 0 unused bits, 0x04 (uncompressed), X and Y of 48 bytes
    bytes[key.valueStart] === 0 &&
    bytes[key.valueStart + 1] === 0x04;
  return { algorithm: ec ? OID_EC_PUBLIC_KEY : hexOf(bytes, oid), p384 };
}

/**
 * OpenSSL's short names for the attribute types node:crypto prints in X509Certificate.subject/issuer. Only these
 * are formatted here; any other type is printed by OpenSSL (der.test.ts checks each against node:crypto).
 */
const X520_SHORT_NAMES: Readonly<Record<number, string>> = { 3: "CN", 4: "SN", 5: "serialNumber", 6: "C", 7: "L", 8: "ST", 10: "O", 11: "OU", 12: "title", 42: "GN" };
const OTHER_SHORT_NAMES: Readonly<Record<string, string>> = {
  "2a864886f70d010901": "emailAddress", // 1.2.840.113549.1.9.1
  "0992268993f22c640119": "DC", // 0.9.2342.19200300.100.1.25
};

function shortName(bytes: Uint8Array, oid: Tlv): string | undefined {
  // 2.5.4.n (X.520, encoded 55 04 n) covers nearly every attribute; it needs no hex string.
  if (length(oid) === 3 && bytes[oid.valueStart] === 0x55 && bytes[oid.valueStart + 1] === 0x04) return X520_SHORT_NAMES[bytes[oid.valueStart + 2]!];
  return OTHER_SHORT_NAMES[hexOf(bytes, oid)];
}

/**
 * One attribute value as node:crypto prints it (OpenSSL X509_NAME_print_ex with RFC 2253 escaping and UTF-8
 * output), or null when printing it would need escaping or a character-set conversion: then OpenSSL prints it.
 * PrintableString, UTF8String and IA5String holding printable ASCII print as themselves.
 */
function plainValue(bytes: Uint8Array, value: Tlv): string | null {
  if (value.tag !== PRINTABLE_STRING && value.tag !== UTF8_STRING && value.tag !== IA5_STRING) return null;
  const first = bytes[value.valueStart];
  const last = bytes[value.end - 1];
  if (length(value) === 0 || first === 0x20 || first === 0x23 || last === 0x20) return null; // leading ' ' or '#', trailing ' '
  for (let i = value.valueStart; i < value.end; i++) {
    const c = bytes[i]!;
    // RFC 2253 specials (" + , ; < > \) are escaped by OpenSSL; control characters and non-ASCII are converted.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x2b || c === 0x2c || c === 0x3b || c === 0x3c || c === 0x3e || c === 0x5c) return null;
  }
  // Printable ASCII only, so one char code per byte (building the string char by char allocated a string each).
  return String.fromCharCode.apply(null, content(bytes, value) as unknown as number[]);
}

/**
 * Checks a Name (SEQUENCE OF SET OF AttributeTypeAndValue) and returns its display form, or null when part of
 * it is outside what plainValue prints (several attributes in one RDN, an unlisted type, an empty Name).
 */
function readName(bytes: Uint8Array, name: Tlv): string | null {
  let text = "";
  let plain = true;
  for (const rdn of children(bytes, name)) {
    if (rdn.tag !== SET) throw new DerError("RelativeDistinguishedName is not a SET");
    const attributes = children(bytes, rdn);
    if (attributes.length === 0) throw new DerError("empty RelativeDistinguishedName");
    if (attributes.length > 1) plain = false;
    for (const attribute of attributes) {
      if (attribute.tag !== SEQUENCE) throw new DerError("AttributeTypeAndValue is not a SEQUENCE");
      const parts = children(bytes, attribute);
      const [type, value] = parts;
      if (parts.length !== 2 || !type || type.tag !== OID || !value) throw new DerError("malformed AttributeTypeAndValue");
      if (value.tag & 0x20) checkWellFormed(bytes, value);
      if (!plain) continue;
      const label = shortName(bytes, type);
      const shown = label === undefined ? null : plainValue(bytes, value);
      if (shown === null) plain = false;
      else text += `${text === "" ? "" : ", "}${label}=${shown}`;
    }
  }
  return plain && text !== "" ? text : null;
}

/** Extracts the fields the chain rules need. Throws DerError when the DER is not a well-formed certificate. */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== SEQUENCE || cert.end !== der.length) throw new DerError("certificate is not one SEQUENCE");
  const parts = children(der, cert);
  const [tbs, outerAlg, signature] = parts;
  if (parts.length > 3) throw new DerError("extra elements after the signature");
  expect(tbs, SEQUENCE, "TBSCertificate");
  expect(outerAlg, SEQUENCE, "signatureAlgorithm");
  expect(signature, BIT_STRING, "signature BIT STRING");
  const outerAlgParts = children(der, outerAlg!);
  const algorithmOid = expect(outerAlgParts[0], OID, "algorithm OID");
  if (outerAlgParts.length > 2) throw new DerError("malformed signature AlgorithmIdentifier");
  if (length(signature!) < 1 || der[signature!.valueStart]! > 7) throw new DerError("malformed signature BIT STRING");

  const fields = children(der, tbs!);
  let i = 0;
  let fullyRead = true;
  // v1 (the default) would be omitted in DER and v2 has no extensions: anything but v3 is not a usable certificate.
  const version = expect(fields[i++], 0xa0, "version");
  if (!contentIs(der, version, VERSION_3)) throw new DerError("version is not v3");
  const serialNumber = integer(der, expect(fields[i++], INTEGER, "serialNumber"), "serialNumber");
  // X509_verify refuses a certificate whose TBS signature AlgorithmIdentifier (OID and parameters) differs from
  // the outer one; comparing the encodings is that comparison.
  const innerAlg = expect(fields[i++], SEQUENCE, "signature");
  if (!sameEncoding(der, innerAlg, der, outerAlg!)) throw new DerError("TBS and outer signature algorithms differ");
  const issuer = expect(fields[i++], SEQUENCE, "issuer");
  const validity = children(der, expect(fields[i++], SEQUENCE, "validity"));
  if (validity.length !== 2) throw new DerError("validity must hold two times");
  const notBeforeMs = parseTime(der, validity[0]!);
  const notAfterMs = parseTime(der, validity[1]!);
  const subject = expect(fields[i++], SEQUENCE, "subject");
  const spkiTlv = expect(fields[i++], SEQUENCE, "subjectPublicKeyInfo");
  const spki = readSpki(der, spkiTlv);
  if (fields[i]?.tag === 0x81) {
    i++; // [1] issuerUniqueID
    fullyRead = false;
  }
  if (fields[i]?.tag === 0x82) {
    i++; // [2] subjectUniqueID
    fullyRead = false;
  }

  let basicConstraints: CertificateFields["basicConstraints"] = null;
  let keyUsage: KeyUsage[] | null = null;
  let subjectKeyId: Uint8Array | null = null;
  let authorityKeyId: CertificateFields["authorityKeyId"] = null;
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  if (fields[i]?.tag === 0xa3) {
    const list = single(der, fields[i++]!, SEQUENCE, "extensions");
    for (const extension of children(der, list)) {
      if (extension.tag !== SEQUENCE) throw new DerError("extension is not a SEQUENCE");
      const extParts = children(der, extension);
      const oid = expect(extParts[0], OID, "extension OID");
      const oidHex = hexOf(der, oid);
      if (seen.has(oidHex)) throw new DerError(`duplicate extension ${oidHex}`);
      seen.add(oidHex);
      let critical = false;
      let index = 1;
      if (extParts[index]?.tag === BOOLEAN) critical = readBoolean(der, extParts[index++]!);
      const value = expect(extParts[index], OCTET_STRING, "extnValue");
      if (index + 1 !== extParts.length) throw new DerError("unexpected content in extension");
      if (contentIs(der, oid, BASIC_CONSTRAINTS)) basicConstraints = parseBasicConstraints(der, value);
      else if (contentIs(der, oid, KEY_USAGE)) keyUsage = parseKeyUsage(der, value);
      else {
        if (critical) unknownCritical.push(oidHex);
        if (contentIs(der, oid, SUBJECT_KEY_IDENTIFIER)) subjectKeyId = content(der, single(der, value, OCTET_STRING, "subjectKeyIdentifier"));
        else if (contentIs(der, oid, AUTHORITY_KEY_IDENTIFIER)) {
          const akid = parseAuthorityKeyId(der, value);
          authorityKeyId = { keyId: akid.keyId, serialNumber: akid.serialNumber };
          if (akid.namesIssuer) fullyRead = false;
        } else if (contentIs(der, oid, CRL_DISTRIBUTION_POINTS)) {
          if (!isCrlDistributionPoints(der, value)) fullyRead = false;
        } else {
          checkWellFormed(der, value);
          fullyRead = false;
        }
      }
    }
  }
  if (i !== fields.length) throw new DerError("unexpected fields in TBSCertificate");
  const issuerText = readName(der, issuer);
  const subjectText = readName(der, subject);
  return {
    signatureAlgorithm: contentIs(der, algorithmOid, ECDSA_WITH_SHA384) ? OID_ECDSA_WITH_SHA384 : hexOf(der, algorithmOid),
    signatureParameters: outerAlgParts.length === 2,
    tbs: whole(der, tbs!),
    signatureValue: der[signature!.valueStart] === 0 ? der.subarray(signature!.valueStart + 1, signature!.end) : null,
    serialNumber,
    issuer: whole(der, issuer),
    subject: whole(der, subject),
    issuerText,
    subjectText,
    notBeforeMs,
    notAfterMs,
    spki: whole(der, spkiTlv),
    spkiAlgorithm: spki.algorithm,
    p384Key: spki.p384,
    basicConstraints,
    keyUsage,
    subjectKeyId,
    authorityKeyId,
    unknownCritical,
    fullyRead: fullyRead && issuerText !== null && subjectText !== null,
  };
}

/**
 * Test support (used by the *.test.ts files only): reads the real vectors and builds foreign certificate chains and
 * COSE_Sign1 documents with tools that are independent of the code under test — @peculiar/x509 for certificates and
 * cbor-x for CBOR (including the Sig_structure), so a signature that verifies proves the verifier agrees with a
 * second implementation rather than with itself.
 */
import "reflect-metadata";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { Encoder } from "cbor-x";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

export const VECTOR_DIR = path.join(__dirname, "..", "..", "test", "vectors", "attestation");

export interface IndexEntry {
  file: string;
  sha256?: string;
  size?: number;
  firstByte?: string;
  module_id?: string;
  timestampMs?: number;
  recommendedVerifyAt?: string;
  certValidityIntersection?: { from: string; to: string };
  pcr0?: string;
  pcr1?: string;
  pcr2?: string;
  pcr3?: string;
  pcr4?: string;
  pcr8?: string;
  nonZeroPcrs?: number[];
  lens?: { public_key: number | null; user_data: number | null; nonce: number | null };
  ourNodeCheck?: { rootIsAwsG1: boolean; chainSignaturesOk: boolean; coseSignatureOk: boolean };
  chain?: Array<{ subject: string; notBefore: string; notAfter: string; sha256: string }>;
  debug: boolean | null;
}

export function loadIndex(): IndexEntry[] {
  return JSON.parse(fs.readFileSync(path.join(VECTOR_DIR, "attestation-vectors-index.json"), "utf8")) as IndexEntry[];
}

export function loadVector(file: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(VECTOR_DIR, file)));
}

export const cbor = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);

/** Independent Sig_structure (cbor-x) and ES384 signature (raw r||s) over it. */
export function coseSign(protectedHeader: Uint8Array, payload: Uint8Array, key: crypto.KeyObject): Buffer {
  const toBeSigned = cbor.encode(["Signature1", Buffer.from(protectedHeader), Buffer.alloc(0), Buffer.from(payload)]);
  return crypto.sign("sha384", toBeSigned, { key, dsaEncoding: "ieee-p1363" });
}

export interface CertSpec {
  ca: boolean;
  pathLen?: number;
  usages: number;
  notBefore: Date;
  notAfter: Date;
  curve?: "P-384" | "P-256";
  /** Omit basicConstraints altogether. */
  noBasicConstraints?: boolean;
  /** Issuer Name written into this certificate (default: the previous certificate's subject); still signed by it. */
  issuerName?: x509.Name;
  /** authorityKeyIdentifier key id (hex) instead of the issuer's real one. */
  authorityKeyId?: string;
  /** Further extensions, after basicConstraints, keyUsage and the key identifiers. */
  extensions?: x509.Extension[];
}

export interface BuiltChain {
  /** Root first, as in a cabundle. */
  cabundle: Uint8Array[];
  leaf: Uint8Array;
  leafKey: crypto.KeyObject;
  rootPem: string;
  /** Every certificate's key pair, root first (for tests that re-sign a modified certificate). */
  keys: CryptoKeyPair[];
}

const ALG = { name: "ECDSA", hash: "SHA-384" };

async function keys(curve: "P-384" | "P-256"): Promise<CryptoKeyPair> {
  return (await crypto.webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** Builds root -> CAs -> leaf. specs[0] is the root, the last is the leaf; every certificate is signed with ES384. */
export async function buildChain(
  specs: CertSpec[],
  names: Array<string | x509.Name> = specs.map((_, i) => (i === 0 ? "CN=foreign root" : i === specs.length - 1 ? "CN=foreign leaf" : `CN=foreign ca ${i}`)),
): Promise<BuiltChain> {
  const pairs = await Promise.all(specs.map((spec) => keys(spec.curve ?? "P-384")));
  const ders: Uint8Array[] = [];
  let rootPem = "";
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const pair = pairs[i]!;
    const issuerPair = pairs[i === 0 ? 0 : i - 1]!;
    const extensions: x509.Extension[] = [];
    if (!spec.noBasicConstraints) extensions.push(new x509.BasicConstraintsExtension(spec.ca, spec.pathLen, true));
    extensions.push(new x509.KeyUsagesExtension(spec.usages, true));
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(pair.publicKey));
    if (spec.authorityKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(spec.authorityKeyId));
    else if (i > 0) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerPair.publicKey));
    extensions.push(...(spec.extensions ?? []));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: `0${i + 1}`,
      subject: names[i]!,
      issuer: spec.issuerName ?? names[i === 0 ? 0 : i - 1]!,
      notBefore: spec.notBefore,
      notAfter: spec.notAfter,
      signingAlgorithm: ALG,
      publicKey: pair.publicKey,
      signingKey: issuerPair.privateKey,
      extensions,
    });
    ders.push(new Uint8Array(cert.rawData));
    if (i === 0) rootPem = cert.toString("pem");
  }
  return {
    cabundle: ders.slice(0, -1),
    leaf: ders[ders.length - 1]!,
    leafKey: crypto.KeyObject.from(pairs[pairs.length - 1]!.privateKey),
    rootPem,
    keys: pairs,
  };
}

export const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;
export const LEAF_USAGES = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;

/** A Nitro-shaped chain (root, 3 CAs with pathLen 2/1/0, leaf) valid around `at`. */
export function nitroShapedSpecs(at: Date): CertSpec[] {
  const hour = 3600_000;
  const from = new Date(at.getTime() - hour);
  const to = new Date(at.getTime() + 3 * hour);
  return [
    { ca: true, usages: CA_USAGES, notBefore: new Date(at.getTime() - 1000 * hour), notAfter: new Date(at.getTime() + 1000 * hour) },
    { ca: true, pathLen: 2, usages: CA_USAGES, notBefore: from, notAfter: to },
    { ca: true, pathLen: 1, usages: CA_USAGES, notBefore: from, notAfter: to },
    { ca: true, pathLen: 0, usages: x509.KeyUsageFlags.keyCertSign, notBefore: from, notAfter: to },
    { ca: false, usages: LEAF_USAGES, notBefore: from, notAfter: to },
  ];
}

/**
 * Re-issues a real document with another chain: same payload fields except certificate/cabundle (and any
 * overrides), re-encoded with cbor-x and signed with the given leaf key.
 */
export function reissue(realDocument: Uint8Array, chain: { cabundle: Uint8Array[]; leaf: Uint8Array; leafKey: crypto.KeyObject }, overrides: Record<string, unknown> = {}): Uint8Array {
  const envelope = cbor.decode(realDocument) as [Buffer, Map<unknown, unknown>, Buffer, Buffer];
  const payload = cbor.decode(envelope[2]) as Map<string, unknown>;
  payload.set("certificate", Buffer.from(chain.leaf));
  payload.set("cabundle", chain.cabundle.map((der) => Buffer.from(der)));
  for (const [key, value] of Object.entries(overrides)) payload.set(key, value);
  const payloadBytes = cbor.encode(payload);
  const signature = coseSign(envelope[0], payloadBytes, chain.leafKey);
  return new Uint8Array(cbor.encode([envelope[0], new Map(), payloadBytes, signature]));
}

/**
 * DER surgery for fixtures that no certificate library will produce (a mismatched outer algorithm, a signature
 * with unused bits, a point off the curve). Written here from X.690 alone, independent of der.ts.
 */
export function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  const head = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff];
  return Uint8Array.from([tag, ...head, ...contents.flatMap((part) => [...part])]);
}

/** The elements (whole encodings) in a DER element's content. Lengths of up to two bytes, as in certificates. */
export function elements(element: Uint8Array): Uint8Array[] {
  const span = (at: number) => {
    const first = element[at + 1]!;
    const size = first < 0x80 ? 0 : first & 0x7f;
    let length = first < 0x80 ? first : 0;
    for (let i = 0; i < size; i++) length = (length << 8) | element[at + 2 + i]!;
    return { content: at + 2 + size, end: at + 2 + size + length };
  };
  const out: Uint8Array[] = [];
  const outer = span(0);
  for (let at = outer.content; at < outer.end; ) {
    const { end } = span(at);
    out.push(element.subarray(at, end));
    at = end;
  }
  return out;
}

export function certificateParts(certificate: Uint8Array): { tbs: Uint8Array; algorithm: Uint8Array; signature: Uint8Array } {
  const [tbs, algorithm, signature] = elements(certificate);
  return { tbs: tbs!, algorithm: algorithm!, signature: signature! };
}

/**
 * Re-signs a certificate (ECDSA-SHA384 with `issuerKey`) after editing its TBSCertificate fields, optionally
 * with another outer AlgorithmIdentifier or a signature BIT STRING declaring unused bits.
 */
export function resign(
  certificate: Uint8Array,
  issuerKey: crypto.KeyObject | CryptoKey,
  edit: (tbsFields: Uint8Array[]) => Uint8Array[] = (fields) => fields,
  options: { algorithm?: Uint8Array; unusedBits?: number } = {},
): Uint8Array {
  const { tbs, algorithm } = certificateParts(certificate);
  const signed = der(0x30, ...edit(elements(tbs)));
  const key = issuerKey instanceof crypto.KeyObject ? issuerKey : crypto.KeyObject.from(issuerKey);
  const signature = crypto.sign("sha384", signed, { key, dsaEncoding: "der" });
  return der(0x30, signed, options.algorithm ?? algorithm, der(0x03, Uint8Array.of(options.unusedBits ?? 0), signature));
}

/**
 * Certificate path validation for Nitro attestation documents:
 *   certificate <- cabundle[n-1] <- ... <- cabundle[0], with cabundle[0] byte-equal to a pinned root.
 * Signatures, issuer/subject linkage, CA flags, pathLen, keyUsage and key types do not depend on time, so they are
 * checked once per distinct chain and cached (keyed by every certificate's SHA-256); validity dates are re-checked
 * on every use because they are the one thing that changes between two documents from the same chain.
 *
 * Certificates are read by the DER reader (der.ts) and their signatures checked with crypto.verify over the exact
 * TBSCertificate bytes; X509Certificate is used only for what the reader does not fully interpret (see
 * CertificateFields.fullyRead), so a cold verification creates one key per certificate and nothing else in OpenSSL.
 */
import { createHash, createPublicKey, verify as cryptoVerify, X509Certificate, type KeyObject } from "node:crypto";
import { DerError, OID_EC_PUBLIC_KEY, OID_ECDSA_WITH_SHA384, readCertificateFields, type CertificateFields } from "./der";
import { bytesEqual, sha256Hex } from "./document";
import { AWS_NITRO_ROOT_G1_SHA256 } from "./roots";
import type { ChainCache, Reason, RootMatch, TrustedRoot } from "./types";

/** What is known about one certificate once its chain has been checked (time-independent). */
export interface CheckedCertificate {
  role: "root" | "intermediate" | "leaf";
  subject: string;
  issuer: string;
  notBeforeMs: number;
  notAfterMs: number;
  sha256: string;
  isCa: boolean;
  pathLen: number | null;
}

export interface CheckedChain {
  /** Root first, leaf last. Entries are missing only for certificates that could not be parsed at all. */
  certificates: CheckedCertificate[];
  /** Time-independent problems (empty means the chain is structurally valid and anchored in a trusted root). */
  reasons: Reason[];
  /** The leaf's public key when it is a usable P-384 key (even if other chain checks failed, for diagnostics). */
  leafKey: KeyObject | null;
  root: RootMatch | null;
}

interface CacheEntry {
  chain: CheckedChain;
  rootDer: Uint8Array;
}

class LruChainCache implements ChainCache {
  private readonly entries = new Map<string, CacheEntry>();
  constructor(readonly maxEntries: number) {}
  get size(): number {
    return this.entries.size;
  }
  clear(): void {
    this.entries.clear();
  }
  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Refresh recency: Map iteration order is insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }
  set(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/**
 * A bounded LRU of verified chains. A fleet has a few hundred enclaves, each reusing one leaf for ~3 hours, so the
 * default of 1024 keeps every live chain while bounding memory (~2 KB per entry).
 */
export function createChainCache(maxEntries = 1024): ChainCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("maxEntries must be a positive integer");
  return new LruChainCache(maxEntries);
}

const defaultCache = new LruChainCache(1024);

export function defaultChainCache(): ChainCache {
  return defaultCache;
}

function chainKey(certificate: Uint8Array, cabundle: readonly Uint8Array[], hashes?: readonly string[]): string {
  // The document parser already hashed every certificate: their fixed-width SHA-256s, in order, name the chain.
  if (hashes && hashes.length === cabundle.length + 1 && hashes.every((hash) => hash.length === 64)) return hashes.join("");
  const hash = createHash("sha256");
  const length = Buffer.alloc(4);
  // Length-prefix every certificate so that two different splits of the same bytes cannot collide.
  for (const der of [...cabundle, certificate]) {
    length.writeUInt32BE(der.length);
    hash.update(length).update(der);
  }
  return hash.digest("hex");
}

function dn(value: string): string {
  // Node separates RDNs with newlines; show them the way openssl/most tools do.
  return value.split("\n").join(", ");
}

/**
 * Returns the time-independent verdict on the chain, from the cache when the same certificates (and an accepted
 * root) were verified before. Only fully valid chains are cached: failures are recomputed, so a cache can never
 * turn a bad chain good or hide a reason.
 */
export function checkChain(
  certificate: Uint8Array,
  cabundle: readonly Uint8Array[],
  roots: readonly TrustedRoot[],
  cache: ChainCache,
  /** SHA-256 hex of each certificate, root first and leaf last, when the caller already has them. */
  hashes?: readonly string[],
): CheckedChain {
  const lru = cache instanceof LruChainCache ? cache : null;
  const key = chainKey(certificate, cabundle, hashes);
  const hit = lru?.get(key);
  if (hit) {
    const root = roots.find((candidate) => bytesEqual(candidate.der, hit.rootDer));
    // The cached verdict holds only if the caller still trusts that root; otherwise fall through and recompute.
    if (root) return { ...hit.chain, root: rootMatch(root) };
  }
  const checked = verifyChain(certificate, cabundle, roots, hashes);
  if (lru && checked.reasons.length === 0 && checked.root && cabundle[0]) lru.set(key, { chain: checked, rootDer: cabundle[0] });
  return checked;
}

function rootMatch(root: TrustedRoot): RootMatch {
  // A root is reported as AWS only when it is byte-for-byte the Root-G1, whatever the caller labelled it.
  const kind = root.kind === "aws" && root.sha256 === AWS_NITRO_ROOT_G1_SHA256 ? "aws" : "lab";
  return { kind, label: root.label, sha256: root.sha256 };
}

interface Parsed {
  der: Uint8Array;
  fields: CertificateFields;
  info: CheckedCertificate;
  /**
   * OpenSSL's parse: made up front only for a certificate the DER reader does not fully interpret, so that OpenSSL
   * still judges it (parse, extensions, linkage) as it always did; otherwise made only if a neighbour needs it.
   */
  x509: X509Certificate | null;
  /** The subject public key: undefined until made (see verifyChain), null when node:crypto refuses the SPKI. */
  key?: KeyObject | null;
}

/** Pinned roots are parsed (DER fields, display names, public key) once per TrustedRoot object, not once per document. */
const parsedRoots = new WeakMap<TrustedRoot, Parsed>();

function parseCertificate(der: Uint8Array, role: CheckedCertificate["role"], sha256: string | undefined): Parsed {
  const fields = readCertificateFields(der);
  const x509 = fields.fullyRead ? null : new X509Certificate(der);
  // X509Certificate.ca is X509_check_ca() == 1: basicConstraints cA, and keyUsage (when present) allows keyCertSign.
  const isCa = (fields.basicConstraints?.ca ?? false) && (fields.keyUsage === null || fields.keyUsage.includes("keyCertSign")) && (x509 === null || x509.ca);
  const info: CheckedCertificate = {
    role,
    subject: x509 ? dn(x509.subject) : (fields.subjectText ?? ""),
    issuer: x509 ? dn(x509.issuer) : (fields.issuerText ?? ""),
    notBeforeMs: fields.notBeforeMs,
    notAfterMs: fields.notAfterMs,
    sha256: sha256 ?? sha256Hex(der),
    isCa,
    pathLen: fields.basicConstraints?.pathLen ?? null,
  };
  return { der, fields, info, x509 };
}

function parsePinnedRoot(root: TrustedRoot): Parsed {
  let parsed = parsedRoots.get(root);
  if (!parsed) {
    parsed = parseCertificate(root.der, "root", root.sha256);
    parsedRoots.set(root, parsed);
  }
  return parsed;
}

/** The subject public key (made once per certificate; a pinned root keeps its key with its parse). */
function publicKey(cert: Parsed): KeyObject | null {
  if (cert.key === undefined) {
    const spki = cert.fields.spki;
    try {
      cert.key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: "der", type: "spki" });
    } catch {
      cert.key = null;
    }
  }
  return cert.key;
}

function openssl(cert: Parsed): X509Certificate {
  cert.x509 ??= new X509Certificate(cert.der);
  return cert.x509;
}

/**
 * X509Certificate.checkIssued + verify, on the DER reader's fields: `parent` issued `cert` (X509_check_issued:
 * names, key identifiers, the parent's keyUsage, a signature algorithm that fits the parent's key type) and its
 * key signed the exact TBSCertificate bytes. The names are compared byte for byte, stricter than OpenSSL's
 * canonical comparison. When either certificate needed OpenSSL, OpenSSL's checkIssued must agree as well.
 */
function issuedBy(cert: Parsed, parent: Parsed): boolean {
  const child = cert.fields;
  const issuer = parent.fields;
  if (!bytesEqual(child.issuer, issuer.subject)) return false;
  const akid = child.authorityKeyId;
  if (akid?.keyId && issuer.subjectKeyId && !bytesEqual(akid.keyId, issuer.subjectKeyId)) return false;
  if (akid?.serialNumber && !bytesEqual(akid.serialNumber, issuer.serialNumber)) return false;
  if (issuer.keyUsage && !issuer.keyUsage.includes("keyCertSign")) return false;
  if (issuer.spkiAlgorithm !== OID_EC_PUBLIC_KEY || child.signatureAlgorithm !== OID_ECDSA_WITH_SHA384 || child.signatureParameters || !child.signatureValue) return false;
  const key = parent.key;
  if (!key) return false;
  try {
    if ((cert.x509 || parent.x509) && !openssl(cert).checkIssued(openssl(parent))) return false;
    // The certificate's signatureValue is a DER Ecdsa-Sig-Value; OpenSSL refuses non-canonical encodings of it.
    return cryptoVerify("sha384", child.tbs, { key, dsaEncoding: "der" }, child.signatureValue);
  } catch {
    return false;
  }
}

function verifyChain(certificate: Uint8Array, cabundle: readonly Uint8Array[], roots: readonly TrustedRoot[], hashes?: readonly string[]): CheckedChain {
  const reasons: Reason[] = [];
  const add = (code: Reason["code"], message: string) => reasons.push({ code, message });
  if (cabundle.length === 0) {
    add("chain.empty_bundle", "cabundle is empty: the document carries no path to a root");
  }
  const anchor = cabundle[0];
  const trustedAnchor = anchor ? roots.find((candidate) => bytesEqual(candidate.der, anchor)) : undefined;
  // Root first, leaf last.
  const ders = [...cabundle, certificate];
  const parsed: Array<Parsed | null> = ders.map((der, index) => {
    const role = index === ders.length - 1 ? "leaf" : index === 0 ? "root" : "intermediate";
    const name = role === "leaf" ? "certificate" : `cabundle[${index}]`;
    try {
      // cabundle[0] byte-equal to a pinned root: reuse that root's parse (its bytes are the same by definition).
      return index === 0 && role === "root" && trustedAnchor ? parsePinnedRoot(trustedAnchor) : parseCertificate(der, role, hashes?.[index]);
    } catch (error) {
      add("chain.bad_certificate", `${name} is not a valid DER certificate: ${error instanceof DerError || error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  });

  // Every key a signature check needs (each CA's for the certificate below it, the leaf's for the COSE signature),
  // made one after the other before any signature is checked: OpenSSL 3.0 sets up a decoder for each SPKI, and
  // back to back those set-ups find their tables still in the CPU caches that an ECDSA verification in between
  // would have evicted (~30 us a key on the benchmark machine). A pinned root's key is made once and kept.
  for (const cert of parsed) if (cert) publicKey(cert);

  let root: RootMatch | null = null;
  if (anchor) {
    if (trustedAnchor) root = rootMatch(trustedAnchor);
    else add("chain.untrusted_root", `cabundle[0] (SHA-256 ${sha256Hex(anchor)}) is not a pinned trusted root`);
  }

  const caCount = parsed.length - 1;
  const nameOf = (cert: Parsed, index: number) => `${cert.info.role === "leaf" ? "certificate" : `cabundle[${index}]`} (${cert.info.subject})`;
  parsed.forEach((cert, index) => {
    if (!cert) return;
    const label = nameOf(cert, index);
    // P-384 is read from the SPKI by the DER reader (id-ecPublicKey, namedCurve secp384r1, 97-byte uncompressed
    // point); node:crypto checks that the point is on the curve when the key is created for a signature.
    if (!cert.fields.p384Key) {
      add("chain.bad_key", `${label} does not have a P-384 (secp384r1) EC key`);
    }
    if (cert.fields.signatureAlgorithm !== OID_ECDSA_WITH_SHA384 || cert.fields.signatureParameters) {
      add("chain.bad_signature", `${label} is not signed with ecdsa-with-SHA384`);
    }
    if (cert.fields.unknownCritical.length > 0) {
      add("chain.unknown_critical_extension", `${label} has unrecognised critical extension(s) ${cert.fields.unknownCritical.join(", ")}`);
    }
    const usage = cert.fields.keyUsage;
    if (cert.info.role === "leaf") {
      if (cert.info.isCa || cert.fields.basicConstraints?.ca) add("chain.not_ca", `${label} is a CA certificate; the signing certificate must be an end entity`);
      if (!usage?.includes("digitalSignature")) add("chain.key_usage", `${label} lacks keyUsage digitalSignature`);
    } else {
      if (!cert.info.isCa || !cert.fields.basicConstraints?.ca) add("chain.not_ca", `${label} is not a CA (basicConstraints cA is not true)`);
      if (!usage?.includes("keyCertSign")) add("chain.key_usage", `${label} lacks keyUsage keyCertSign`);
      // RFC 5280 §4.2.1.9: pathLen bounds the intermediate CA certificates that may follow this one in the path.
      const following = caCount - 1 - index;
      const pathLen = cert.info.pathLen;
      if (pathLen !== null && following > pathLen) {
        add("chain.path_length", `${label} allows ${pathLen} CA certificate(s) below it but ${following} follow`);
      }
    }
    if (index === 0) return; // The root is pinned by its bytes; its self-signature adds nothing.
    const parent = parsed[index - 1];
    if (!parent) return;
    if (!issuedBy(cert, parent)) add("chain.bad_signature", `${label} is not issued and signed by ${index - 1 === 0 ? "cabundle[0]" : `cabundle[${index - 1}]`} (${parent.info.subject})`);
  });

  const leaf = parsed[parsed.length - 1];
  const leafKey = leaf && leaf.fields.p384Key ? (leaf.key ?? null) : null;
  // A P-384 key node:crypto refuses (a point off the curve); any other key type was reported as not P-384 above.
  parsed.forEach((cert, index) => {
    if (cert && cert.fields.p384Key && !cert.key) add("chain.bad_key", `${nameOf(cert, index)} has a P-384 public key node:crypto cannot use`);
  });
  return {
    certificates: parsed.filter((cert): cert is Parsed => cert !== null).map((cert) => cert.info),
    reasons,
    leafKey,
    root,
  };
}

/** A certificate is valid at `atMs` (RFC 5280: both bounds inclusive; notAfter is to the second, so its whole second counts). */
export function validAt(cert: CheckedCertificate, atMs: number): boolean {
  return atMs >= cert.notBeforeMs && atMs <= cert.notAfterMs + 999;
}

/** Validity of every certificate at one instant (see validAt). */
export function validityReasons(certificates: readonly CheckedCertificate[], atMs: number, when: string): Reason[] {
  const reasons: Reason[] = [];
  for (const cert of certificates) {
    if (validAt(cert, atMs)) continue;
    if (atMs < cert.notBeforeMs) {
      reasons.push({ code: "chain.not_yet_valid", message: `${cert.role} ${cert.subject} is not valid until ${new Date(cert.notBeforeMs).toISOString()} (${when} ${new Date(atMs).toISOString()})` });
    } else {
      reasons.push({ code: "chain.expired", message: `${cert.role} ${cert.subject} expired at ${new Date(cert.notAfterMs).toISOString()} (${when} ${new Date(atMs).toISOString()})` });
    }
  }
  return reasons;
}

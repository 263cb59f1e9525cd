import "reflect-metadata";
import { verify, X509Certificate } from "node:crypto";
import { ExtendedKeyUsageExtension, Extension, KeyUsageFlags, Name, SubjectAlternativeNameExtension } from "@peculiar/x509";
import { beforeAll, describe, expect, it } from "vitest";
import { createChainCache, trustedRootFromPem, verifyAttestationDocument, type TrustedRoot } from "./index";
import { awsNitroRootG1 } from "./roots";
import { buildChain, CA_USAGES, certificateParts, der, LEAF_USAGES, loadVector, nitroShapedSpecs, reissue, resign, type BuiltChain, type CertSpec } from "./test-support";

const REAL = loadVector("evervault-beta-valid-nondebug-2022-10-13.cbor");
const AT = new Date("2022-10-13T08:58:02.136Z");

async function issue(specs: CertSpec[]): Promise<{ chain: BuiltChain; root: TrustedRoot; bytes: Uint8Array }> {
  const chain = await buildChain(specs);
  return { chain, root: trustedRootFromPem(chain.rootPem, "lab", "test lab"), bytes: reissue(REAL, chain) };
}

function verifyWith(bytes: Uint8Array, root: TrustedRoot, at = AT) {
  return verifyAttestationDocument(bytes, { at, trustedRoots: [awsNitroRootG1(), root], chainCache: createChainCache() });
}

const codes = (result: { reasons: Array<{ code: string }> }) => result.reasons.map((reason) => reason.code);

describe("a foreign (lab) chain built with @peculiar/x509 and signed with cbor-x", () => {
  let good: Awaited<ReturnType<typeof issue>>;
  beforeAll(async () => {
    good = await issue(nitroShapedSpecs(AT));
  });

  it("is trusted only when its root is pinned, and then reported as a lab root", () => {
    const labTrusted = verifyWith(good.bytes, good.root);
    expect(codes(labTrusted)).toEqual([]);
    expect(labTrusted.trusted).toBe(true);
    expect(labTrusted.root).toEqual({ kind: "lab", label: "test lab", sha256: good.root.sha256 });
    const awsOnly = verifyAttestationDocument(good.bytes, { at: AT, chainCache: createChainCache() });
    expect(codes(awsOnly)).toEqual(["chain.untrusted_root"]);
    expect(awsOnly.trusted).toBe(false);
  });

  it("keeps the real document's fields", () => {
    const result = verifyWith(good.bytes, good.root);
    expect(result.document!.moduleId).toBe("i-020b6af9246d90e92-enc0183d09086c24190");
    expect(result.chain.map((cert) => cert.subject)).toEqual(["CN=foreign root", "CN=foreign ca 1", "CN=foreign ca 2", "CN=foreign ca 3", "CN=foreign leaf"]);
  });

  it("a root dropped from or reordered in the cabundle is not trusted", () => {
    const dropped = reissue(REAL, { ...good.chain, cabundle: good.chain.cabundle.slice(1) });
    expect(verifyWith(dropped, good.root).reasons.map((r) => r.code)).toContain("chain.untrusted_root");
    const reordered = reissue(REAL, { ...good.chain, cabundle: [...good.chain.cabundle].reverse() });
    const result = verifyWith(reordered, good.root);
    expect(result.trusted).toBe(false);
    expect(codes(result)).toContain("chain.untrusted_root");
    const swapped = [...good.chain.cabundle];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    const swappedResult = verifyWith(reissue(REAL, { ...good.chain, cabundle: swapped }), good.root);
    expect(codes(swappedResult)).toContain("chain.bad_signature");
  });

  it("a document signed by a key other than the leaf's fails the COSE signature", async () => {
    const other = await buildChain(nitroShapedSpecs(AT));
    const bytes = reissue(REAL, { ...good.chain, leafKey: other.leafKey });
    expect(codes(verifyWith(bytes, good.root))).toEqual(["cose.bad_signature"]);
  });
});

describe("chain rules", () => {
  const hour = 3600_000;
  const base = () => nitroShapedSpecs(AT);

  it("chain.not_ca: an intermediate without cA", async () => {
    const specs = base();
    specs[2] = { ...specs[2]!, ca: false, pathLen: undefined };
    const { bytes, root } = await issue(specs);
    expect(codes(verifyWith(bytes, root))).toContain("chain.not_ca");
  });

  it("chain.not_ca: an intermediate with no basicConstraints at all, and a CA leaf", async () => {
    const specs = base();
    specs[3] = { ...specs[3]!, noBasicConstraints: true };
    const first = await issue(specs);
    expect(codes(verifyWith(first.bytes, first.root))).toContain("chain.not_ca");
    const leafCa = base();
    leafCa[4] = { ...leafCa[4]!, ca: true, usages: CA_USAGES | LEAF_USAGES };
    const second = await issue(leafCa);
    expect(codes(verifyWith(second.bytes, second.root))).toEqual(["chain.not_ca"]);
  });

  it("chain.path_length: pathLen 0 with another CA below", async () => {
    const specs = base();
    specs[2] = { ...specs[2]!, pathLen: 0 };
    const { bytes, root } = await issue(specs);
    const result = verifyWith(bytes, root);
    expect(codes(result)).toEqual(["chain.path_length"]);
    expect(result.reasons[0]!.message).toContain("cabundle[2]");
  });

  it("chain.key_usage: a CA without keyCertSign, a leaf without digitalSignature", async () => {
    const specs = base();
    specs[4] = { ...specs[4]!, usages: KeyUsageFlags.nonRepudiation };
    const leaf = await issue(specs);
    expect(codes(verifyWith(leaf.bytes, leaf.root))).toEqual(["chain.key_usage"]);
    const ca = base();
    ca[1] = { ...ca[1]!, usages: KeyUsageFlags.digitalSignature };
    const issued = await issue(ca);
    expect(codes(verifyWith(issued.bytes, issued.root))).toContain("chain.key_usage");
  });

  it("chain.bad_key: a P-256 leaf (and no COSE verification with it)", async () => {
    const specs = base();
    specs[4] = { ...specs[4]!, curve: "P-256" };
    const p256 = await buildChain(specs);
    // Signed with some P-384 key so the signature has the ES384 length and parsing succeeds.
    const bytes = reissue(REAL, { ...p256, leafKey: (await buildChain(base())).leafKey });
    const result = verifyWith(bytes, trustedRootFromPem(p256.rootPem, "lab", "p256"));
    expect(codes(result)).toEqual(["chain.bad_key", "cose.bad_signature"]);
  });

  it("chain.expired / chain.not_yet_valid are judged at the document timestamp and at the verification time separately", async () => {
    const specs = base();
    specs[3] = { ...specs[3]!, notBefore: new Date(AT.getTime() - 10 * hour), notAfter: new Date(AT.getTime() - hour) };
    const expired = await issue(specs);
    const result = verifyWith(expired.bytes, expired.root);
    expect(codes(result)).toEqual(["chain.expired", "chain.expired"]);
    expect(result.validAtIssuance).toBe(false);
    const future = base();
    future[1] = { ...future[1]!, notBefore: new Date(AT.getTime() + hour), notAfter: new Date(AT.getTime() + 10 * hour) };
    const notYet = await issue(future);
    const later = verifyWith(notYet.bytes, notYet.root, new Date(AT.getTime() + 2 * hour));
    expect(codes(later)).toEqual(["chain.not_yet_valid", "freshness.stale"]);
    expect(later).toMatchObject({ validAtIssuance: false, validNow: true });
  });

  it("chain.bad_certificate: bytes that are not a certificate", async () => {
    const { chain, root } = await issue(base());
    const bytes = reissue(REAL, { ...chain, cabundle: [chain.cabundle[0]!, Buffer.from("not a certificate"), ...chain.cabundle.slice(2)] });
    const result = verifyWith(bytes, root);
    expect(result.trusted).toBe(false);
    expect(codes(result)).toContain("chain.bad_certificate");
  });

  it("the cache never stores a failing chain and honours its size bound", async () => {
    const cache = createChainCache(2);
    const { bytes } = await issue(base());
    verifyAttestationDocument(bytes, { at: AT, chainCache: cache });
    expect(cache.size).toBe(0);
    const roots: TrustedRoot[] = [];
    for (let i = 0; i < 3; i++) {
      const issued = await issue(base());
      roots.push(issued.root);
      expect(verifyAttestationDocument(issued.bytes, { at: AT, trustedRoots: [issued.root], chainCache: cache }).trusted).toBe(true);
    }
    expect(cache.size).toBe(2);
    expect(() => createChainCache(0)).toThrow();
  });
});

describe("issuer linkage and signatures, read by the DER reader rather than X509Certificate", () => {
  const ca3Key = (chain: BuiltChain) => chain.keys[3]!.privateKey;
  const withLeaf = (chain: BuiltChain, leaf: Uint8Array) => reissue(REAL, { ...chain, leaf });
  let good: Awaited<ReturnType<typeof issue>>;
  beforeAll(async () => {
    good = await issue(nitroShapedSpecs(AT));
  });

  it("an outer signatureAlgorithm that differs from the signed one is refused, though the signature still verifies", () => {
    const { tbs, signature } = certificateParts(good.chain.leaf);
    const ca3 = new X509Certificate(good.chain.cabundle[3]!).publicKey;
    expect(signature.length).toBeLessThan(0x80); // 03 <len> 00 <Ecdsa-Sig-Value>
    expect(verify("sha384", tbs, { key: ca3, dsaEncoding: "der" }, signature.subarray(3))).toBe(true);
    const sha256 = der(0x30, der(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)));
    const result = verifyWith(withLeaf(good.chain, der(0x30, tbs, sha256, signature)), good.root);
    // Unreadable, the leaf gives no key for the COSE signature either.
    expect(codes(result)).toEqual(["chain.bad_certificate", "cose.bad_signature"]);
    expect(result.reasons[0]!.message).toMatch(/certificate is not a valid DER certificate: TBS and outer signature algorithms differ/);
    expect(new X509Certificate(der(0x30, tbs, sha256, signature)).verify(new X509Certificate(good.chain.cabundle[3]!).publicKey)).toBe(false);
  });

  it("ecdsa-with-SHA384 with parameters (RFC 5758 forbids them) is refused even when validly signed", () => {
    const withNull = der(0x30, der(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03)), Uint8Array.of(0x05, 0x00));
    const leaf = resign(good.chain.leaf, ca3Key(good.chain), (fields) => [fields[0]!, fields[1]!, withNull, ...fields.slice(3)], { algorithm: withNull });
    const result = verifyWith(withLeaf(good.chain, leaf), good.root);
    expect(codes(result)).toEqual(["chain.bad_signature", "chain.bad_signature"]);
    expect(result.trusted).toBe(false);
  });

  it("a signature BIT STRING that declares unused bits is refused, as OpenSSL refuses it", () => {
    const leaf = resign(good.chain.leaf, ca3Key(good.chain), undefined, { unusedBits: 1 });
    expect(codes(verifyWith(withLeaf(good.chain, leaf), good.root))).toEqual(["chain.bad_signature"]);
    const ca3 = new X509Certificate(good.chain.cabundle[3]!);
    expect(new X509Certificate(leaf).verify(ca3.publicKey)).toBe(false);
    expect(new X509Certificate(resign(good.chain.leaf, ca3Key(good.chain))).verify(ca3.publicKey)).toBe(true);
  });

  it("an issuer Name that is not the parent's subject is refused, though the parent's key signed it", async () => {
    const specs = nitroShapedSpecs(AT);
    specs[4] = { ...specs[4]!, issuerName: new Name("CN=someone else") };
    const { bytes, root } = await issue(specs);
    const result = verifyWith(bytes, root);
    expect(codes(result)).toEqual(["chain.bad_signature"]);
    expect(result.reasons[0]!.message).toContain("certificate (CN=foreign leaf) is not issued and signed by cabundle[3] (CN=foreign ca 3)");
  });

  it("issuer and subject Names are compared byte for byte: the same text in another string type is refused (OpenSSL's canonical match would accept it)", async () => {
    const specs = nitroShapedSpecs(AT);
    specs[4] = { ...specs[4]!, issuerName: new Name([{ CN: [{ printableString: "foreign ca 3" }] }]) };
    const names = ["CN=foreign root", "CN=foreign ca 1", "CN=foreign ca 2", new Name([{ CN: [{ utf8String: "foreign ca 3" }] }]), "CN=foreign leaf"];
    const chain = await buildChain(specs, names);
    const root = trustedRootFromPem(chain.rootPem, "lab", "test lab");
    expect(codes(verifyWith(reissue(REAL, chain), root))).toEqual(["chain.bad_signature"]);
    expect(new X509Certificate(chain.leaf).checkIssued(new X509Certificate(chain.cabundle[3]!))).toBe(true);
  });

  it("an authorityKeyIdentifier that names another key than the parent's subjectKeyIdentifier is refused", async () => {
    const specs = nitroShapedSpecs(AT);
    specs[4] = { ...specs[4]!, authorityKeyId: "00".repeat(20) };
    const { chain, bytes, root } = await issue(specs);
    expect(codes(verifyWith(bytes, root))).toEqual(["chain.bad_signature"]);
    expect(new X509Certificate(chain.leaf).checkIssued(new X509Certificate(chain.cabundle[3]!))).toBe(false);
  });

  it("a P-384 key that is not a point on the curve: chain.bad_key, and nothing verifies with it", () => {
    const offCurve = (fields: Uint8Array[]) => {
      const spki = Uint8Array.from(fields[6]!);
      spki[spki.length - 1]! ^= 0x01; // another Y for the same X: not on the curve
      return [...fields.slice(0, 6), spki, ...fields.slice(7)];
    };
    const leaf = resign(good.chain.leaf, ca3Key(good.chain), offCurve);
    const result = verifyWith(withLeaf(good.chain, leaf), good.root);
    expect(codes(result)).toEqual(["chain.bad_key", "cose.bad_signature"]);
    expect(result.reasons[0]!.message).toMatch(/certificate \(CN=foreign leaf\) has a P-384 public key node:crypto cannot use/);
    const ca2 = resign(good.chain.cabundle[2]!, good.chain.keys[1]!.privateKey, offCurve);
    const cabundle = [...good.chain.cabundle];
    cabundle[2] = ca2;
    expect(codes(verifyWith(reissue(REAL, { ...good.chain, cabundle }), good.root))).toEqual(["chain.bad_signature", "chain.bad_key"]);
  });

  it("certificates outside what the reader interprets (extra extensions, joined or non-ASCII Names) go through OpenSSL and verify", async () => {
    const specs = nitroShapedSpecs(AT);
    specs[4] = { ...specs[4]!, extensions: [new ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.2"]), new SubjectAlternativeNameExtension([{ type: "dns", value: "enclave.example" }])] };
    const ca3Name = new Name([{ CN: [{ utf8String: "zonal ca é" }], O: [{ printableString: "Lab" }] }]);
    const leafName = new Name([{ CN: [{ utf8String: "leaf, with a comma" }] }]);
    const chain = await buildChain(specs, ["CN=foreign root", "CN=foreign ca 1", "CN=foreign ca 2", ca3Name, leafName]);
    const root = trustedRootFromPem(chain.rootPem, "lab", "test lab");
    const result = verifyWith(reissue(REAL, chain), root);
    expect(codes(result)).toEqual([]);
    expect(result.trusted).toBe(true);
    const node = [...chain.cabundle, chain.leaf].map((certificate) => new X509Certificate(certificate));
    expect(result.chain.map((cert) => cert.subject)).toEqual(node.map((cert) => cert.subject.split("\n").join(", ")));
    expect(result.chain.map((cert) => cert.issuer)).toEqual(node.map((cert) => cert.issuer.split("\n").join(", ")));
    expect(result.chain[3]!.subject).toBe("CN=zonal ca é + O=Lab");
  });

  it("OpenSSL still judges an extension the reader does not interpret: a malformed subjectAltName breaks the link", async () => {
    const specs = nitroShapedSpecs(AT);
    // Well-formed DER, but not GeneralNames: OpenSSL marks the certificate invalid and will not link it.
    specs[4] = { ...specs[4]!, extensions: [new Extension("2.5.29.17", false, Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x05))] };
    const { bytes, root } = await issue(specs);
    expect(codes(verifyWith(bytes, root))).toEqual(["chain.bad_signature"]);
  });

  it("isCa is X509Certificate.ca: cA and, when keyUsage is present, keyCertSign", async () => {
    const specs = nitroShapedSpecs(AT);
    specs[1] = { ...specs[1]!, usages: KeyUsageFlags.digitalSignature };
    specs[2] = { ...specs[2]!, noBasicConstraints: true };
    const { chain, bytes, root } = await issue(specs);
    const result = verifyWith(bytes, root);
    const node = [...chain.cabundle, chain.leaf].map((certificate) => new X509Certificate(certificate).ca);
    expect(result.chain.map((cert) => cert.isCa)).toEqual(node);
    expect(node).toEqual([true, false, false, true, false]);
  });
});

import "reflect-metadata";
import { KeyUsageFlags } from "@peculiar/x509";
import { beforeAll, describe, expect, it } from "vitest";
import { createChainCache, trustedRootFromPem, verifyAttestationDocument, type TrustedRoot } from "./index";
import { awsNitroRootG1 } from "./roots";
import { buildChain, CA_USAGES, LEAF_USAGES, loadVector, nitroShapedSpecs, reissue, type BuiltChain, type CertSpec } from "./test-support";

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

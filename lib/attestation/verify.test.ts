import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  AWS_NITRO_ROOT_G1_PEM,
  createChainCache,
  parseAttestationDocument,
  pcrForInstanceId,
  pcrForRoleArn,
  trustedRootFromPem,
  verifyAttestationDocument,
} from "./index";
import { loadIndex, loadVector, VECTOR_DIR } from "./test-support";

const index = loadIndex();
const real = index.filter((entry) => entry.ourNodeCheck?.coseSignatureOk && entry.recommendedVerifyAt);
const codes = (result: { reasons: Array<{ code: string }> }) => result.reasons.map((reason) => reason.code);
const ZERO = "0".repeat(96);

describe("real Nitro documents", () => {
  it("the index lists the 11 documents that verify (10 real + the tagged copy)", () => {
    expect(real.map((entry) => entry.file)).toHaveLength(11);
  });

  for (const entry of real) {
    describe(entry.file, () => {
      const bytes = loadVector(entry.file);
      const at = new Date(entry.recommendedVerifyAt!);

      it("is trusted at its recommended instant (allowing debug only for debug documents)", () => {
        const result = verifyAttestationDocument(bytes, { at, allowDebug: entry.debug === true, chainCache: createChainCache() });
        expect(result.reasons).toEqual([]);
        expect(result).toMatchObject({ trusted: true, validAtIssuance: true, validNow: true, fresh: true, matchesPolicy: true, debug: entry.debug });
        expect(result.root).toEqual({ kind: "aws", label: "AWS Nitro Enclaves Root-G1", sha256: "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b" });
      });

      it("decodes the same fields as the independently produced index", () => {
        const result = verifyAttestationDocument(bytes, { at, allowDebug: true });
        const doc = result.document!;
        expect(result.sha256).toBe(entry.sha256);
        expect(bytes.length).toBe(entry.size);
        expect(`0x${bytes[0]!.toString(16)}`).toBe(entry.firstByte);
        expect(doc.moduleId).toBe(entry.module_id);
        expect(doc.timestampMs).toBe(entry.timestampMs);
        expect(doc.timestamp.toISOString()).toBe(new Date(entry.timestampMs!).toISOString());
        for (const i of [0, 1, 2, 3, 4, 8] as const) expect(doc.pcrs[i]).toBe(entry[`pcr${i}`]);
        const nonZero = Object.entries(doc.pcrs)
          .filter(([, value]) => value !== ZERO)
          .map(([key]) => Number(key));
        expect(nonZero).toEqual(entry.nonZeroPcrs);
        expect(doc.publicKey === null ? null : doc.publicKey.length / 2).toBe(entry.lens!.public_key);
        expect(doc.userData === null ? null : doc.userData.length / 2).toBe(entry.lens!.user_data);
        expect(doc.nonce === null ? null : doc.nonce.length / 2).toBe(entry.lens!.nonce);
        expect(result.chain.map((cert) => ({ subject: cert.subject, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), sha256: cert.sha256 }))).toEqual(entry.chain);
        expect(result.chain.map((cert) => cert.role)).toEqual(["root", "intermediate", "intermediate", "intermediate", "leaf"]);
        expect(result.chain.map((cert) => cert.isCa)).toEqual([true, true, true, true, false]);
        // AWS profile (research §1.3): the root has no pathLen; regional 2, zonal 1, instance 0.
        expect(result.chain.map((cert) => cert.pathLen)).toEqual([null, 2, 1, 0, null]);
        expect(doc.cabundle[0]!.sha256).toBe(entry.chain![0]!.sha256);
        expect(doc.certificate.sha256).toBe(entry.chain![4]!.sha256);
      });

      it("PCR4 measures the parent instance named in module_id", () => {
        const instance = entry.module_id!.split("-enc")[0]!;
        const result = verifyAttestationDocument(bytes, { at, allowDebug: true, expectedInstanceId: instance });
        expect(result.matchesPolicy).toBe(true);
        expect(pcrForInstanceId(instance)).toBe(entry.pcr4);
      });

      it("is expired three hours and one minute after its timestamp, yet still valid at issuance", () => {
        const late = new Date(entry.timestampMs! + (3 * 60 + 1) * 60_000);
        const result = verifyAttestationDocument(bytes, { at: late, allowDebug: true });
        expect(result.trusted).toBe(false);
        expect(result.validAtIssuance).toBe(true);
        expect(result.validNow).toBe(false);
        expect(result.fresh).toBe(false);
        expect(codes(result)).toContain("chain.expired");
        expect(result.chain.at(-1)!.validNow).toBe(false);
        expect(result.chain[0]!.validNow).toBe(true);
      });

      if (entry.debug) {
        it("is rejected as debug mode unless debug is allowed", () => {
          const result = verifyAttestationDocument(bytes, { at });
          expect(result.trusted).toBe(false);
          expect(result.validAtIssuance).toBe(true);
          expect(result.matchesPolicy).toBe(false);
          expect(codes(result)).toEqual(["doc.debug_mode"]);
        });
      }
    });
  }
});

describe("invalid and derived vectors", () => {
  const at = new Date("2022-10-13T08:58:02.136Z");
  it("a flipped signature byte fails the COSE signature only", () => {
    const result = verifyAttestationDocument(loadVector("DERIVED-evervault-beta-valid-nondebug-2022-10-13-INVALID-badsig.cbor"), { at });
    expect(codes(result)).toEqual(["cose.bad_signature"]);
    expect(result).toMatchObject({ trusted: false, validAtIssuance: false, validNow: false });
  });

  it("a tampered PCR0 fails the COSE signature and the decoded PCR0 shows the tampering", () => {
    const result = verifyAttestationDocument(loadVector("DERIVED-evervault-beta-valid-nondebug-2022-10-13-INVALID-tampered-pcr0.cbor"), { at });
    expect(codes(result)).toEqual(["cose.bad_signature"]);
    expect(result.document!.pcrs[0]!.startsWith("0bd48b81")).toBe(true);
    expect(result.trusted).toBe(false);
  });

  it("the tagged (0xd2, tag 18) form verifies", () => {
    const bytes = loadVector("DERIVED-evervault-beta-valid-nondebug-2022-10-13-VALID-tagged18.cbor");
    expect(bytes[0]).toBe(0xd2);
    const result = verifyAttestationDocument(bytes, { at });
    expect(result.trusted).toBe(true);
    const parsed = parseAttestationDocument(bytes);
    expect(parsed.ok && parsed.cose.tagged).toBe(true);
  });

  it("the self-signed (non-Nitro) document is rejected before any trust decision", () => {
    // It carries a null unprotected header and a null cabundle, which the strict parser refuses, so the
    // verdict comes from parsing rather than from chain.untrusted_root (that code is exercised with a real
    // foreign chain in chain.test.ts and property.test.ts).
    const result = verifyAttestationDocument(loadVector("blocky-nitrite-selfsigned-INVALID-root-2024-04-17.cbor"), { at: new Date("2024-04-17T18:51:46Z") });
    expect(result.trusted).toBe(false);
    expect(codes(result)).toEqual(["parse.bad_header", "parse.bad_field:cabundle"]);
    expect(result.document).toBeNull();
  });

  it("a real document is untrusted when only a lab root is pinned, and an empty root list is refused", async () => {
    const { buildChain, nitroShapedSpecs } = await import("./test-support");
    const lab = trustedRootFromPem((await buildChain(nitroShapedSpecs(at))).rootPem, "lab", "lab");
    const bytes = loadVector("evervault-beta-valid-nondebug-2022-10-13.cbor");
    const result = verifyAttestationDocument(bytes, { at, trustedRoots: [lab], chainCache: createChainCache() });
    expect(codes(result)).toEqual(["chain.untrusted_root"]);
    expect(result).toMatchObject({ trusted: false, validAtIssuance: false, root: null });
    const none = verifyAttestationDocument(bytes, { at, trustedRoots: [], chainCache: createChainCache() });
    expect(codes(none)).toEqual(["options.invalid"]);
    expect(none.trusted).toBe(false);
  });
});

describe("the embedded root", () => {
  it("is byte-identical to the saved aws-nitro-root.pem and has the published DER fingerprint", () => {
    const saved = fs.readFileSync(path.join(VECTOR_DIR, "aws-nitro-root.pem"), "utf8");
    expect(AWS_NITRO_ROOT_G1_PEM.trim()).toBe(saved.trim());
    const der = new crypto.X509Certificate(AWS_NITRO_ROOT_G1_PEM).raw;
    expect(crypto.createHash("sha256").update(der).digest("hex")).toBe("641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
  });

  it("refuses to label any other certificate as aws", async () => {
    const { buildChain, nitroShapedSpecs } = await import("./test-support");
    const chain = await buildChain(nitroShapedSpecs(new Date()));
    expect(() => trustedRootFromPem(chain.rootPem, "aws", "fake")).toThrow(/not the AWS Nitro Enclaves Root-G1/);
    expect(trustedRootFromPem(chain.rootPem, "lab", "lab").kind).toBe("lab");
    expect(() => trustedRootFromPem("not a pem", "lab", "x")).toThrow();
  });
});

describe("policy verdicts", () => {
  const entry = index.find((candidate) => candidate.file === "evervault-beta-nondebug-in-cert-2023-01-18.cbor")!;
  const bytes = loadVector(entry.file);
  const at = new Date(entry.recommendedVerifyAt!);

  it("accepts the PCRs Evervault's own test spec states for this document (upper-case accepted)", () => {
    const result = verifyAttestationDocument(bytes, {
      at,
      expectedPcrs: {
        0: "d265a83faa7b4fa0d73b82b6d06253e894445922937d0ee5a74fe4891da9817611a71e71b98e5329232902de3cf419af".toUpperCase(),
        1: entry.pcr1!,
        2: entry.pcr2!,
        8: entry.pcr8!,
      },
    });
    expect(result.trusted).toBe(true);
  });

  it("reports which PCR differs; an all-zero expectation fails", () => {
    const result = verifyAttestationDocument(bytes, { at, expectedPcrs: { 0: ZERO, 2: entry.pcr2! } });
    expect(result).toMatchObject({ trusted: false, validAtIssuance: true, fresh: true, matchesPolicy: false });
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]!.code).toBe("pcr.mismatch");
    expect(result.reasons[0]!.message).toMatch(/^PCR0 /);
  });

  it("fails closed on an empty or malformed expectation", () => {
    expect(codes(verifyAttestationDocument(bytes, { at, expectedPcrs: {} }))).toEqual(["options.invalid"]);
    expect(codes(verifyAttestationDocument(bytes, { at, expectedPcrs: { 0: "abc" } }))).toEqual(["options.invalid"]);
    expect(codes(verifyAttestationDocument(bytes, { at, expectedPcrs: { 40: entry.pcr0! } }))).toContain("options.invalid");
    expect(verifyAttestationDocument(bytes, { at, expectedNonce: "zz" }).trusted).toBe(false);
  });

  it("checks the nonce we sent", () => {
    const nonce = verifyAttestationDocument(bytes, { at }).document!.nonce!;
    expect(verifyAttestationDocument(bytes, { at, expectedNonce: nonce.toUpperCase() }).trusted).toBe(true);
    const flipped = (nonce[0] === "0" ? "1" : "0") + nonce.slice(1);
    const result = verifyAttestationDocument(bytes, { at, expectedNonce: flipped });
    expect(codes(result)).toEqual(["nonce.mismatch"]);
    expect(result).toMatchObject({ fresh: false, validNow: true, matchesPolicy: true });
    const nullNonce = verifyAttestationDocument(loadVector("evervault-beta-debug-mode.cbor"), { at: new Date("2022-10-12T13:50:06.081Z"), allowDebug: true, expectedNonce: "00" });
    expect(codes(nullNonce)).toEqual(["nonce.mismatch"]);
  });

  it("separates freshness from validity", () => {
    const sixMinutes = new Date(entry.timestampMs! + 6 * 60_000);
    const stale = verifyAttestationDocument(bytes, { at: sixMinutes });
    expect(codes(stale)).toEqual(["freshness.stale"]);
    expect(stale).toMatchObject({ validAtIssuance: true, validNow: true, fresh: false, trusted: false });
    expect(verifyAttestationDocument(bytes, { at: sixMinutes, freshnessMs: 10 * 60_000 }).trusted).toBe(true);
    const early = verifyAttestationDocument(bytes, { at: new Date(entry.timestampMs! - 2 * 60_000) });
    // Two minutes before the timestamp the leaf (notBefore 6 s before it) is not valid yet either.
    expect(codes(early)).toEqual(["chain.not_yet_valid", "freshness.future"]);
    expect(early.validAtIssuance).toBe(true);
  });

  it("checks the parent instance (PCR4) and role (PCR3)", () => {
    expect(codes(verifyAttestationDocument(bytes, { at, expectedInstanceId: "i-1234567890abcdef0" }))).toEqual(["pcr.instance_mismatch"]);
    expect(codes(verifyAttestationDocument(bytes, { at, expectedRoleArn: "arn:aws:iam::123456789012:role/Webserver" }))).toEqual(["pcr.role_mismatch"]);
  });

  it("derives PCR3/PCR4 exactly as the AWS user guide's examples", () => {
    const pcr4 = pcrForInstanceId("i-1234567890abcdef0");
    expect(pcr4.startsWith("08f996b5d43e047a")).toBe(true);
    expect(pcr4.endsWith("7ae79ce0")).toBe(true);
    const pcr3 = pcrForRoleArn("arn:aws:iam::123456789012:role/Webserver");
    expect(pcr3.startsWith("78fce75db17cd4e0")).toBe(true);
    expect(pcr3.endsWith("6921e6")).toBe(true);
  });

  it("the cache serves a second verification and still re-checks validity dates", () => {
    const cache = createChainCache(4);
    const first = verifyAttestationDocument(bytes, { at, chainCache: cache });
    expect(cache.size).toBe(1);
    const second = verifyAttestationDocument(bytes, { at, chainCache: cache });
    expect(second).toEqual(first);
    const late = verifyAttestationDocument(bytes, { at: new Date(entry.timestampMs! + 4 * 3600_000), chainCache: cache });
    expect(codes(late)).toContain("chain.expired");
    expect(late.validAtIssuance).toBe(true);
    // A cached chain is not reused for a caller that does not trust its root.
    const labOnly = trustedRootFromPem(fs.readFileSync(path.join(VECTOR_DIR, "aws-nitro-root.pem"), "utf8"), "lab", "relabelled");
    const relabelled = verifyAttestationDocument(bytes, { at, chainCache: cache, trustedRoots: [labOnly] });
    expect(relabelled.root).toEqual({ kind: "lab", label: "relabelled", sha256: "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b" });
  });

  it("never throws on hostile options or inputs", () => {
    expect(verifyAttestationDocument(undefined as unknown as Uint8Array).trusted).toBe(false);
    expect(verifyAttestationDocument(new Uint8Array(0)).reasons[0]!.code).toBe("parse.truncated");
    expect(verifyAttestationDocument(bytes, { at: new Date(Number.NaN) }).trusted).toBe(false);
    expect(verifyAttestationDocument(bytes, { at, freshnessMs: -1 }).trusted).toBe(false);
  });

  it("serialises to JSON with ISO dates", () => {
    const json = JSON.parse(JSON.stringify(verifyAttestationDocument(bytes, { at }))) as { document: { timestamp: string }; chain: Array<{ notAfter: string }> };
    expect(json.document.timestamp).toBe("2023-01-18T13:07:19.280Z");
    expect(json.chain[4]!.notAfter).toBe("2023-01-18T16:07:16.000Z");
  });
});

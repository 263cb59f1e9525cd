import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createChainCache, trustedRootFromPem, verifyAttestationDocument, type AttestationVerification, type VerifyOptions } from "./index";
import { awsNitroRootG1 } from "./roots";
import { buildChain, cbor, loadIndex, loadVector, nitroShapedSpecs, reissue, type BuiltChain } from "./test-support";

const vectors = loadIndex()
  .filter((entry) => entry.ourNodeCheck?.coseSignatureOk && entry.recommendedVerifyAt)
  // fc.toStringMethod keeps counterexamples readable (the file name, not 5 KB of bytes).
  .map((entry) => ({ file: entry.file, bytes: loadVector(entry.file), at: new Date(entry.recommendedVerifyAt!), [fc.toStringMethod]: () => entry.file }));
const cache = createChainCache();

/** Verifies and asserts the two invariants every mutation must keep: no exception, no trust. */
function neverTrusted(bytes: Uint8Array, options: VerifyOptions): AttestationVerification {
  let result: AttestationVerification | undefined;
  expect(() => {
    result = verifyAttestationDocument(bytes, { allowDebug: true, chainCache: cache, ...options });
  }).not.toThrow();
  expect(result!.trusted).toBe(false);
  expect(result!.reasons.length).toBeGreaterThan(0);
  return result!;
}

const vector = fc.constantFrom(...vectors);
/** Untagged documents, for properties that decode and re-encode the envelope with cbor-x. */
const untagged = fc.constantFrom(...vectors.filter((v) => v.bytes[0] === 0x84));
const RUNS = { numRuns: 150 };

describe("mutated real documents are never trusted and never throw", () => {
  it("baseline: every unmutated vector is trusted with allowDebug", () => {
    for (const v of vectors) expect(verifyAttestationDocument(v.bytes, { at: v.at, allowDebug: true, chainCache: cache }).trusted).toBe(true);
  });

  it("any single-byte change", () => {
    fc.assert(
      fc.property(vector, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, position, mask) => {
        const bytes = Uint8Array.from(v.bytes);
        bytes[position % bytes.length]! ^= mask;
        neverTrusted(bytes, { at: v.at });
      }),
      { numRuns: 400 },
    );
  });

  it("any truncation", () => {
    fc.assert(
      fc.property(vector, fc.nat(), (v, cut) => {
        neverTrusted(v.bytes.subarray(0, cut % v.bytes.length), { at: v.at });
      }),
      RUNS,
    );
  });

  it("any appended bytes", () => {
    fc.assert(
      fc.property(vector, fc.uint8Array({ minLength: 1, maxLength: 64 }), (v, extra) => {
        const result = neverTrusted(Uint8Array.from([...v.bytes, ...extra]), { at: v.at });
        expect(result.reasons[0]!.code).toBe("parse.trailing_bytes");
      }),
      RUNS,
    );
  });

  it("re-encodings of the envelope with longer (non-shortest) heads", () => {
    // Real envelope: 84 | 44 a1013822 | a0 | 59 <len16> payload | 58 60 signature
    const variants: Array<(bytes: Uint8Array) => Uint8Array> = [
      (b) => Uint8Array.from([0x98, 0x04, ...b.subarray(1)]), // array(4) with a 1-byte argument
      (b) => Uint8Array.from([0x84, 0x58, 0x04, ...b.subarray(2)]), // protected bstr length as 1-byte argument
      (b) => Uint8Array.from([...b.subarray(0, 6), 0xb8, 0x00, ...b.subarray(7)]), // unprotected map(0), long head
      (b) => Uint8Array.from([...b.subarray(0, 7), 0x5a, 0x00, 0x00, ...b.subarray(8)]), // payload length in 4 bytes
      (b) => Uint8Array.from([...b.subarray(0, b.length - 98), 0x59, 0x00, 0x60, ...b.subarray(b.length - 96)]), // signature length in 2 bytes
      (b) => Uint8Array.from([0xd8, 0x12, ...b]), // tag 18 with a 1-byte argument
    ];
    fc.assert(
      fc.property(untagged, fc.constantFrom(...variants.keys()), (v, which) => {
        expect(Array.from(v.bytes.subarray(0, 8))).toEqual([0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x59]);
        const result = neverTrusted(variants[which]!(v.bytes), { at: v.at });
        expect(result.reasons.map((reason) => reason.code)).toEqual(["parse.non_canonical"]);
      }),
      { numRuns: 60 },
    );
  });

  it("payload field swaps and reorderings (re-encoded with cbor-x)", () => {
    fc.assert(
      fc.property(untagged, fc.nat(), fc.nat(), fc.boolean(), (v, i, j, reorderOnly) => {
        const [protectedHeader, , payloadBytes, signature] = cbor.decode(v.bytes) as [Buffer, unknown, Buffer, Buffer];
        const payload = cbor.decode(payloadBytes) as Map<string, unknown>;
        const keys = [...payload.keys()];
        const a = keys[i % keys.length]!;
        const b = keys[(i + 1 + (j % (keys.length - 1))) % keys.length]!;
        const changed = new Map(payload);
        if (reorderOnly) {
          // Same content, different key order: must still fail (the signature covers the original bytes).
          const value = changed.get(a);
          changed.delete(a);
          changed.set(a, value);
          if (keys.at(-1) === a) return;
        } else {
          changed.set(a, payload.get(b));
          changed.set(b, payload.get(a));
        }
        const encoded = cbor.encode(changed);
        // Swapping two equal values (e.g. two nulls) changes nothing; such a case says nothing about the verifier.
        fc.pre(Buffer.compare(encoded, payloadBytes) !== 0);
        neverTrusted(new Uint8Array(cbor.encode([protectedHeader, new Map(), encoded, signature])), { at: v.at });
      }),
      RUNS,
    );
  });

  it("any other outer tag", () => {
    fc.assert(
      fc.property(vector, fc.integer({ min: 0, max: 23 }).filter((tag) => tag !== 18), (v, tag) => {
        const result = neverTrusted(Uint8Array.from([0xc0 | tag, ...v.bytes]), { at: v.at });
        expect(result.reasons[0]!.code).toBe("parse.bad_tag");
      }),
      { numRuns: 40 },
    );
  });

  it("any other algorithm in the protected header", () => {
    fc.assert(
      fc.property(untagged, fc.integer({ min: -65536, max: 65535 }).filter((alg) => alg !== -35), (v, alg) => {
        const [, , payload, signature] = cbor.decode(v.bytes) as [Buffer, unknown, Buffer, Buffer];
        const header = cbor.encode(new Map([[1, alg]]));
        const result = neverTrusted(new Uint8Array(cbor.encode([header, new Map(), payload, signature])), { at: v.at });
        expect(result.reasons.map((reason) => reason.code)).toEqual(["parse.bad_alg"]);
      }),
      { numRuns: 60 },
    );
  });

  it("a real cabundle with the root dropped or the order changed", () => {
    fc.assert(
      fc.property(untagged, fc.nat(), fc.boolean(), (v, seed, drop) => {
        const [protectedHeader, , payloadBytes, signature] = cbor.decode(v.bytes) as [Buffer, unknown, Buffer, Buffer];
        const payload = cbor.decode(payloadBytes) as Map<string, unknown>;
        const bundle = payload.get("cabundle") as Buffer[];
        const shift = 1 + (seed % (bundle.length - 1));
        const changed = drop ? bundle.slice(1) : [...bundle.slice(shift), ...bundle.slice(0, shift)];
        payload.set("cabundle", changed);
        neverTrusted(new Uint8Array(cbor.encode([protectedHeader, new Map(), cbor.encode(payload), signature])), { at: v.at });
      }),
      { numRuns: 40 },
    );
  });
});

describe("a chain re-signed under a foreign root (only the root differs)", () => {
  const at = new Date("2022-10-13T08:58:02.136Z");
  const real = loadVector("evervault-beta-valid-nondebug-2022-10-13.cbor");
  let chain: BuiltChain;
  beforeAll(async () => {
    chain = await buildChain(nitroShapedSpecs(at));
  });

  it("is rejected with chain.untrusted_root against the AWS root, and accepted only with its own root as lab", () => {
    const bytes = reissue(real, chain);
    const result = neverTrusted(bytes, { at });
    expect(result.reasons.map((reason) => reason.code)).toEqual(["chain.untrusted_root"]);
    const lab = trustedRootFromPem(chain.rootPem, "lab", "foreign");
    expect(verifyAttestationDocument(bytes, { at, trustedRoots: [awsNitroRootG1(), lab] }).root?.kind).toBe("lab");
  });

  it("with any permutation or drop of its cabundle, is never trusted even with its own root pinned", () => {
    const lab = trustedRootFromPem(chain.rootPem, "lab", "foreign");
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3], { minLength: 1, maxLength: 4 }), (order) => {
        if (order.join() === "0,1,2,3") return;
        const bytes = reissue(real, { ...chain, cabundle: order.map((index) => chain.cabundle[index]!) });
        neverTrusted(bytes, { at, trustedRoots: [lab], allowDebug: false });
      }),
      { numRuns: 30 },
    );
  });

  it("with the real AWS root spliced in at cabundle[0], is never trusted", () => {
    const awsRoot = (cbor.decode(cbor.decode(real)[2]) as Map<string, Buffer[]>).get("cabundle")![0]!;
    const bytes = reissue(real, { ...chain, cabundle: [awsRoot, ...chain.cabundle.slice(1)] });
    const result = neverTrusted(bytes, { at });
    expect(result.reasons.map((reason) => reason.code)).toEqual(["chain.bad_signature"]);
  });
});

import { describe, expect, it } from "vitest";
import { decodeCbor, sigStructure } from "./cbor";
import { parseAttestationDocument, verifyAttestationDocument } from "./index";
import { cbor, loadVector } from "./test-support";

const REAL = loadVector("evervault-beta-valid-nondebug-2022-10-13.cbor");
const AT = new Date("2022-10-13T08:58:02.136Z");
const envelope = cbor.decode(REAL) as [Buffer, Map<unknown, unknown>, Buffer, Buffer];
const ES384 = envelope[0];

function codes(bytes: Uint8Array): string[] {
  const result = verifyAttestationDocument(bytes, { at: AT });
  expect(result.trusted).toBe(false);
  return result.reasons.map((reason) => reason.code);
}

function firstCode(bytes: Uint8Array): string {
  const parsed = parseAttestationDocument(bytes);
  if (parsed.ok) throw new Error("expected a parse failure");
  return parsed.reason.code;
}

/** The real envelope with replaced parts (re-encoded with cbor-x, which reproduces the real bytes exactly). */
function withEnvelope(parts: { protectedHeader?: unknown; unprotected?: unknown; payload?: unknown; signature?: unknown }): Uint8Array {
  return new Uint8Array(
    cbor.encode([
      "protectedHeader" in parts ? parts.protectedHeader : ES384,
      "unprotected" in parts ? parts.unprotected : new Map(),
      "payload" in parts ? parts.payload : envelope[2],
      "signature" in parts ? parts.signature : envelope[3],
    ]),
  );
}

/** The real payload with fields replaced (undefined deletes a field). */
function withPayload(changes: Record<string, unknown>): Uint8Array {
  const payload = new Map(cbor.decode(envelope[2]) as Map<string, unknown>);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) payload.delete(key);
    else payload.set(key, value);
  }
  return withEnvelope({ payload: cbor.encode(payload) });
}

describe("parse failures have stable codes", () => {
  it("cbor-x reproduces the real document byte for byte (so the builders below change only what they say)", () => {
    expect(Buffer.compare(withEnvelope({}), REAL)).toBe(0);
    expect(Buffer.compare(withPayload({}), REAL)).toBe(0);
  });

  it("rejects a 100 MB input by its length, fast", () => {
    const huge = new Uint8Array(100 * 1024 * 1024);
    huge[0] = 0x84;
    const start = performance.now();
    const result = verifyAttestationDocument(huge, { at: AT });
    expect(performance.now() - start).toBeLessThan(250);
    expect(result.reasons.map((reason) => reason.code)).toEqual(["parse.too_large"]);
    expect(result.sha256).toBe("");
  });

  it("rejects 10,000 nested arrays without recursing into them", () => {
    const deep = new Uint8Array(10_001).fill(0x81);
    deep[10_000] = 0x00;
    expect(codes(deep)).toEqual(["parse.too_deep"]);
    const deepPayload = new Uint8Array(10_001).fill(0x81);
    deepPayload[10_000] = 0x00;
    expect(codes(withEnvelope({ payload: Buffer.from(deepPayload) }))).toEqual(["parse.too_deep"]);
  });

  it("rejects indefinite lengths (array, byte string, map) and stray breaks", () => {
    expect(firstCode(Uint8Array.of(0x9f, 0x40, 0xa0, 0x40, 0x40, 0xff))).toBe("parse.indefinite_length");
    expect(firstCode(Uint8Array.of(0x84, 0x5f, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xff, 0xa0, 0x40, 0x40))).toBe("parse.indefinite_length");
    expect(firstCode(Uint8Array.of(0x84, 0x40, 0xbf, 0xff, 0x40, 0x40))).toBe("parse.indefinite_length");
    expect(firstCode(Uint8Array.of(0x84, 0x40, 0xff, 0x40, 0x40))).toBe("parse.indefinite_length");
  });

  it("rejects duplicate map keys (a second module_id appended to the real payload)", () => {
    const payload = Buffer.from(envelope[2]);
    expect(payload[0]).toBe(0xa9); // map(9)
    const moduleIdEntry = payload.subarray(1, 1 + 1 + 9 + 1 + 0x27); // "module_id" key (text(9)) + its 39-char value
    expect(moduleIdEntry.subarray(1, 10).toString()).toBe("module_id");
    const duplicated = Buffer.concat([Buffer.of(0xaa), payload.subarray(1), moduleIdEntry]);
    expect(codes(withEnvelope({ payload: duplicated }))).toEqual(["parse.duplicate_key"]);
  });

  it("rejects trailing bytes after the document and inside the payload", () => {
    expect(codes(Uint8Array.of(...REAL, 0x00))).toEqual(["parse.trailing_bytes"]);
    expect(codes(withEnvelope({ payload: Buffer.concat([envelope[2], Buffer.of(0xf6)]) }))).toEqual(["parse.trailing_bytes"]);
  });

  it("rejects truncation and lengths beyond the input before allocating", () => {
    expect(codes(REAL.subarray(0, REAL.length - 1))).toEqual(["parse.truncated"]);
    expect(codes(Uint8Array.of(0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toEqual(["parse.truncated"]);
    expect(codes(Uint8Array.of(0x84, 0x40, 0xba, 0xff, 0xff, 0xff, 0xff))).toEqual(["parse.truncated"]);
    expect(codes(Uint8Array.of(0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00))).toEqual(["parse.truncated"]);
  });

  it("accepts only tag 18, only once, only on the envelope", () => {
    expect(codes(Uint8Array.of(0xd1, ...REAL))).toEqual(["parse.bad_tag"]);
    expect(codes(Uint8Array.of(0xd2, 0xd2, ...REAL))).toEqual(["parse.bad_tag"]);
    expect(codes(Uint8Array.of(0xd8, 0x12, ...REAL))).toEqual(["parse.non_canonical"]);
    expect(codes(withPayload({ module_id: new Date(0) }))).toEqual(["parse.bad_tag"]);
  });

  it("rejects other algorithms and any other protected header", () => {
    expect(codes(withEnvelope({ protectedHeader: Buffer.of(0xa1, 0x01, 0x38, 0x23) }))).toEqual(["parse.bad_alg"]); // ES512
    expect(codes(withEnvelope({ protectedHeader: Buffer.of(0xa1, 0x01, 0x26) }))).toEqual(["parse.bad_alg"]); // ES256
    expect(codes(withEnvelope({ protectedHeader: Buffer.of(0xa2, 0x01, 0x38, 0x22, 0x04, 0x40) }))).toEqual(["parse.bad_header"]);
    expect(codes(withEnvelope({ protectedHeader: Buffer.alloc(0) }))).toEqual(["parse.bad_header"]);
    expect(codes(withEnvelope({ protectedHeader: new Map([[1, -35]]) }))).toEqual(["parse.bad_header"]);
  });

  it("requires an empty unprotected map", () => {
    expect(codes(withEnvelope({ unprotected: new Map([[4, Buffer.of(1)]]) }))).toEqual(["parse.bad_header"]);
    expect(codes(withEnvelope({ unprotected: null }))).toEqual(["parse.bad_header"]);
  });

  it("requires a 96-byte signature", () => {
    expect(codes(withEnvelope({ signature: envelope[3].subarray(0, 95) }))).toEqual(["parse.bad_signature_length"]);
    expect(codes(withEnvelope({ signature: Buffer.concat([envelope[3], Buffer.of(0)]) }))).toEqual(["parse.bad_signature_length"]);
  });

  it("requires the COSE shape", () => {
    expect(codes(new Uint8Array(cbor.encode([ES384, new Map(), envelope[2]])))).toEqual(["parse.bad_structure"]);
    expect(codes(withEnvelope({ payload: "text" }))).toEqual(["parse.bad_structure"]);
    expect(codes(withEnvelope({ payload: cbor.encode([1, 2]) }))).toEqual(["parse.bad_structure"]);
    expect(codes(Uint8Array.of(0x00))).toEqual(["parse.bad_structure"]);
  });

  it("rejects non-shortest integer heads, floats, invalid UTF-8", () => {
    expect(() => decodeCbor(Uint8Array.of(0x18, 0x05), { maxDepth: 4 })).toThrow(/shortest/);
    expect(() => decodeCbor(Uint8Array.of(0x19, 0x00, 0xff), { maxDepth: 4 })).toThrow(/shortest/);
    expect(decodeCbor(Uint8Array.of(0x19, 0x01, 0x00), { maxDepth: 4 })).toEqual({ kind: "uint", value: 256 });
    expect(decodeCbor(Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), { maxDepth: 4 })).toEqual({ kind: "uint", value: 2n ** 64n - 1n });
    expect(decodeCbor(Uint8Array.of(0x38, 0x22), { maxDepth: 4 })).toEqual({ kind: "nint", value: -35 });
    expect(codes(withPayload({ timestamp: 1.5 }))).toEqual(["parse.unsupported_type"]);
    const badUtf8 = Buffer.from(envelope[2]);
    expect(badUtf8.subarray(11, 13)).toEqual(Buffer.of(0x78, 0x27)); // text(39): the module_id value
    badUtf8[13] = 0xff;
    expect(codes(withEnvelope({ payload: badUtf8 }))).toEqual(["parse.invalid_utf8"]);
  });

  it("names the offending field", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ module_id: "" }, "parse.bad_field:module_id"],
      [{ module_id: undefined }, "parse.bad_field:module_id"],
      [{ digest: "SHA256" }, "parse.bad_field:digest"],
      [{ timestamp: 0 }, "parse.bad_field:timestamp"],
      [{ timestamp: -5 }, "parse.bad_field:timestamp"],
      [{ pcrs: new Map([[32, Buffer.alloc(48)]]) }, "parse.bad_field:pcrs"],
      [{ pcrs: new Map([["0", Buffer.alloc(48)]]) }, "parse.bad_field:pcrs"],
      [{ pcrs: new Map([[0, Buffer.alloc(32)]]) }, "parse.bad_field:pcrs"],
      [{ pcrs: new Map() }, "parse.bad_field:pcrs"],
      [{ certificate: Buffer.alloc(0) }, "parse.bad_field:certificate"],
      [{ certificate: Buffer.alloc(1025, 1) }, "parse.bad_field:certificate"],
      [{ cabundle: null }, "parse.bad_field:cabundle"],
      [{ cabundle: [Buffer.alloc(10), "x"] }, "parse.bad_field:cabundle"],
      [{ cabundle: Array.from({ length: 9 }, () => Buffer.alloc(4)) }, "parse.bad_field:cabundle"],
      [{ user_data: Buffer.alloc(1025) }, "parse.bad_field:user_data"],
      [{ nonce: "abc" }, "parse.bad_field:nonce"],
      [{ public_key: 7 }, "parse.bad_field:public_key"],
      [{ extra: 1 }, "parse.unknown_field"],
    ];
    for (const [change, code] of cases) expect(codes(withPayload(change)), JSON.stringify(Object.keys(change))).toEqual([code]);
    const map = new Map(cbor.decode(envelope[2]) as Map<unknown, unknown>);
    map.set(7, 1);
    expect(codes(withEnvelope({ payload: cbor.encode(map) }))).toEqual(["parse.bad_structure"]);
  });

  it("accepts 1024-byte and empty optional fields, CBOR null and absence (then fails only the signature)", () => {
    for (const change of [{ user_data: Buffer.alloc(1024) }, { nonce: Buffer.alloc(0) }, { public_key: Buffer.alloc(1024, 7), user_data: null }, { user_data: undefined, nonce: undefined, public_key: undefined }]) {
      const parsed = parseAttestationDocument(withPayload(change));
      expect(parsed.ok).toBe(true);
      expect(codes(withPayload(change))).toEqual(["cose.bad_signature"]);
    }
  });

  it("an empty cabundle parses and fails the chain as chain.empty_bundle", () => {
    expect(codes(withPayload({ cabundle: [] }))).toEqual(expect.arrayContaining(["chain.empty_bundle"]));
  });
});

describe("sigStructure", () => {
  it("is cbor-x's encoding of [\"Signature1\", protected, h'', payload] for every head size", () => {
    for (const protectedLength of [0, 4, 23, 24, 300]) {
      for (const payloadLength of [1, 23, 24, 255, 256, 65535, 65536]) {
        const protectedHeader = Uint8Array.from({ length: protectedLength }, (_, i) => i & 0xff);
        const payload = Uint8Array.from({ length: payloadLength }, (_, i) => (i * 7) & 0xff);
        const expected = cbor.encode(["Signature1", Buffer.from(protectedHeader), Buffer.alloc(0), Buffer.from(payload)]);
        expect(Buffer.from(sigStructure(protectedHeader, payload)).equals(expected), `${protectedLength}/${payloadLength}`).toBe(true);
      }
    }
  });
});

describe("map keys and text", () => {
  const decode = (...bytes: number[]) => decodeCbor(Uint8Array.from(bytes), { maxDepth: 4 });
  const duplicate = (...bytes: number[]) => expect(() => decode(...bytes)).toThrow(/duplicate map key/);

  it("an integer key and the text of the same digits are different keys; equal integers, bigints or texts are duplicates", () => {
    expect(decode(0xa2, 0x01, 0x00, 0x61, 0x31, 0x00)).toEqual({ kind: "map", entries: [[{ kind: "uint", value: 1 }, { kind: "uint", value: 0 }], [{ kind: "text", value: "1" }, { kind: "uint", value: 0 }]] });
    expect(decode(0xa2, 0x01, 0x00, 0x20, 0x00).kind).toBe("map"); // 1 and -1
    duplicate(0xa2, 0x01, 0x00, 0x01, 0x00);
    duplicate(0xa2, 0x20, 0x00, 0x20, 0x00);
    const big = [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    duplicate(0xa2, ...big, 0x00, ...big, 0x00);
    duplicate(0xa2, 0x62, 0xc3, 0xa9, 0x00, 0x62, 0xc3, 0xa9, 0x00); // "é" twice
    duplicate(0xa2, 0x61, 0x61, 0x00, 0x61, 0x61, 0x00);
  });

  it("ASCII (control characters included) and UTF-8 text decode as TextDecoder decodes them", () => {
    const texts = ["", "module_id", "a\u0000b\u007f", "é", "x".repeat(64), "y".repeat(65), `${"z".repeat(63)}é`];
    for (const text of texts) {
      const utf8 = new TextEncoder().encode(text);
      const head = utf8.length < 24 ? [0x60 | utf8.length] : [0x78, utf8.length];
      expect(decode(...head, ...utf8)).toEqual({ kind: "text", value: text });
    }
    expect(() => decode(0x61, 0xff)).toThrow(/not valid UTF-8/);
  });
});

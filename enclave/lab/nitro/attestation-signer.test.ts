import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { decode } from "cbor-x";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabCa, type LabCa } from "./lab-ca";
import { AttestationSigner, pcr3ForRole, pcr4ForInstance } from "./attestation-signer";

const VECTORS = path.resolve(__dirname, "../../../test/vectors/attestation");
const REAL = fs.readFileSync(path.join(VECTORS, "evervault-beta-valid-nondebug-2022-10-13.cbor"));

/**
 * Minimal CBOR reader used only to describe the *shape* of a document: every data item as
 * "<major>:<additional-info width>" plus the text of strings. Lengths and byte contents are left out on purpose so
 * two documents with different certificates compare equal iff they are built the same way. Written independently of
 * cbor-x so it can catch encoder behaviour (floats, tags, string keys, indefinite lengths).
 */
function shape(buf: Buffer): string[] {
  const out: string[] = [];
  let p = 0;
  function head(): { major: number; ai: number; value: number } {
    const b = buf[p++]!;
    const major = b >> 5;
    const ai = b & 31;
    let value = ai;
    if (ai === 24) {
      value = buf[p]!;
      p += 1;
    } else if (ai === 25) {
      value = buf.readUInt16BE(p);
      p += 2;
    } else if (ai === 26) {
      value = buf.readUInt32BE(p);
      p += 4;
    } else if (ai === 27) {
      value = Number(buf.readBigUInt64BE(p));
      p += 8;
    } else if (ai > 27) throw new Error(`unsupported additional info ${ai}`);
    return { major, ai, value };
  }
  const width = (ai: number) => (ai < 24 ? "imm" : ["1", "2", "4", "8"][ai - 24]!);
  function item(): void {
    const { major, ai, value } = head();
    switch (major) {
      case 0:
        out.push(`uint/${width(ai)}${ai < 24 ? `=${value}` : ""}`);
        break;
      case 1:
        out.push(`nint=${-1 - value}`);
        break;
      case 2:
        out.push(`bstr/${width(ai)}`);
        p += value;
        break;
      case 3:
        out.push(`text="${buf.subarray(p, p + value).toString("utf8")}"`);
        p += value;
        break;
      case 4:
        out.push(`array(${value})`);
        for (let i = 0; i < value; i++) item();
        break;
      case 5:
        out.push(`map(${value})`);
        for (let i = 0; i < 2 * value; i++) item();
        break;
      case 6:
        out.push(`tag(${value})`);
        item();
        break;
      case 7:
        out.push(ai === 22 ? "null" : `simple/${ai}`);
        break;
    }
  }
  item();
  if (p !== buf.length) throw new Error("trailing bytes");
  return out;
}

/** Sig_structure built by hand (RFC 8152 §4.4), not with the code under test. */
function handSigStructure(protectedBstr: Buffer, payload: Buffer): Buffer {
  const bstrHead = (n: number) =>
    n < 24 ? Buffer.from([0x40 | n]) : n < 256 ? Buffer.from([0x58, n]) : Buffer.from([0x59, n >> 8, n & 0xff]);
  return Buffer.concat([
    Buffer.from([0x84, 0x6a]),
    Buffer.from("Signature1"),
    bstrHead(protectedBstr.length),
    protectedBstr,
    Buffer.from([0x40]),
    bstrHead(payload.length),
    payload,
  ]);
}

interface Decoded {
  protectedBstr: Buffer;
  payloadBstr: Buffer;
  signature: Buffer;
  payload: {
    module_id: string;
    digest: string;
    timestamp: number | bigint;
    pcrs: Map<number, Buffer> | Record<string, Buffer>;
    certificate: Buffer;
    cabundle: Buffer[];
    public_key: Buffer | null;
    user_data: Buffer | null;
    nonce: Buffer | null;
  };
}
function decodeDoc(doc: Buffer): Decoded {
  const arr = decode(doc) as [Buffer, unknown, Buffer, Buffer];
  return { protectedBstr: arr[0], payloadBstr: arr[2], signature: arr[3], payload: decode(arr[2]) };
}
const pcrOf = (d: Decoded, i: number): Buffer => {
  const p = d.payload.pcrs;
  return (p instanceof Map ? p.get(i) : p[String(i)])!;
};

/** Full verification with node:crypto only, anchored on a given root DER, at a given instant. */
function verify(doc: Buffer, rootDer: Buffer, at: Date): void {
  const d = decodeDoc(doc);
  expect(d.protectedBstr.toString("hex")).toBe("a1013822");
  expect(d.signature.length).toBe(96);
  const bundle = d.payload.cabundle.map((c) => new crypto.X509Certificate(c));
  expect(bundle[0]!.raw.equals(rootDer)).toBe(true);
  const leaf = new crypto.X509Certificate(d.payload.certificate);
  const chain = [...bundle, leaf];
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    const issuer = i === 0 ? c : chain[i - 1]!;
    expect(c.checkIssued(issuer)).toBe(true);
    expect(c.verify(issuer.publicKey)).toBe(true);
    expect(new Date(c.validFrom).getTime()).toBeLessThanOrEqual(at.getTime());
    expect(new Date(c.validTo).getTime()).toBeGreaterThanOrEqual(at.getTime());
  }
  expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
  const ok = crypto.verify(
    "sha384",
    handSigStructure(d.protectedBstr, d.payloadBstr),
    { key: leaf.publicKey, dsaEncoding: "ieee-p1363" },
    d.signature,
  );
  expect(ok).toBe(true);
}

const MEASUREMENTS = {
  pcr0: "f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b",
  pcr1: "bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f",
  pcr2: "d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a",
  pcr8: "8790eb3cce6c83d07e84b126dc61ca923333d6f66615c4a79157de48c5ab2418bdc60746ea7b7afbff03a1c6210201cb",
};
const ROLE = "arn:aws:iam::111122223333:role/acra-enclave";
const INSTANCE = "i-020b6af9246d90e92";

describe("attestation signer", () => {
  let dir: string;
  let ca: LabCa;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "att-signer-"));
    ca = await ensureLabCa(dir);
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const signer = (debugMode: boolean, now?: () => Date) =>
    new AttestationSigner({
      ca,
      region: "us-east-1",
      parentInstanceId: INSTANCE,
      enclaveId: "0183d09086c24190",
      roleArn: ROLE,
      measurements: MEASUREMENTS,
      debugMode,
      ...(now ? { now } : {}),
    });

  it("has the byte-level shape of a real Nitro document", async () => {
    // The real document carries a 256-byte nonce and null public_key/user_data: ask for the same.
    const nonce = crypto.randomBytes(256);
    const doc = await signer(false).attest({ nonce });
    expect(doc.subarray(0, 8).toString("hex")).toBe(REAL.subarray(0, 8).toString("hex"));
    expect(doc.subarray(0, 8).toString("hex")).toBe("8444a1013822a059");

    const ours = decodeDoc(doc);
    const real = decodeDoc(REAL);
    expect(shape(doc)).toEqual(shape(REAL));
    expect(shape(ours.payloadBstr)).toEqual(shape(real.payloadBstr));
    // Spot checks that the shape comparison is meaningful.
    const payloadShape = shape(ours.payloadBstr);
    expect(payloadShape.slice(0, 7)).toEqual(["map(9)", 'text="module_id"', expect.stringMatching(/^text=/), 'text="digest"', 'text="SHA384"', 'text="timestamp"', "uint/8"]);
    expect(payloadShape.filter((s) => s.startsWith("text=") && !s.includes("i-")).slice(0, 9)).toEqual([
      'text="module_id"',
      'text="digest"',
      'text="SHA384"',
      'text="timestamp"',
      'text="pcrs"',
      'text="certificate"',
      'text="cabundle"',
      'text="public_key"',
      'text="user_data"',
    ]);
    expect(ours.payload.module_id).toBe("i-020b6af9246d90e92-enc0183d09086c24190");
    expect(ours.payload.nonce!.equals(nonce)).toBe(true);
    expect(ours.payload.public_key).toBeNull();
    expect(ours.payload.user_data).toBeNull();
  });

  it("verifies independently: chain to the lab root and ES384 COSE signature", async () => {
    const before = Date.now();
    const publicKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" });
    const doc = await signer(false).attest({ nonce: Buffer.from("abcd", "hex"), userData: Buffer.from("hello"), publicKey });
    const d = decodeDoc(doc);
    const ts = Number(d.payload.timestamp);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
    verify(doc, ca.rootDer, new Date(ts));
    expect(d.payload.public_key!.equals(publicKey)).toBe(true);
    expect(d.payload.user_data!.toString()).toBe("hello");
    expect(d.payload.cabundle).toHaveLength(4);

    // Flipping one payload bit breaks the signature (the test's verifier is not vacuous).
    const tampered = Buffer.from(doc);
    const idx = tampered.indexOf(Buffer.from(MEASUREMENTS.pcr0, "hex"));
    tampered[idx] = tampered[idx]! ^ 1;
    expect(() => verify(tampered, ca.rootDer, new Date(ts))).toThrow();
    // The same verifier accepts the real AWS document with the AWS root at its timestamp.
    const awsRoot = new crypto.X509Certificate(fs.readFileSync(path.join(VECTORS, "aws-nitro-root.pem"))).raw;
    verify(REAL, awsRoot, new Date(1665651482136));
  });

  it("carries 16 PCRs of 48 bytes with the configured measurements and AWS's PCR3/PCR4 derivation", async () => {
    const d = decodeDoc(await signer(false).attest());
    for (let i = 0; i < 16; i++) expect(pcrOf(d, i).length).toBe(48);
    expect(pcrOf(d, 0).toString("hex")).toBe(MEASUREMENTS.pcr0);
    expect(pcrOf(d, 1).toString("hex")).toBe(MEASUREMENTS.pcr1);
    expect(pcrOf(d, 2).toString("hex")).toBe(MEASUREMENTS.pcr2);
    expect(pcrOf(d, 8).toString("hex")).toBe(MEASUREMENTS.pcr8);
    expect(pcrOf(d, 3).equals(pcr3ForRole(ROLE))).toBe(true);
    expect(pcrOf(d, 4).equals(pcr4ForInstance(INSTANCE))).toBe(true);
    for (const i of [5, 6, 7, 9, 10, 11, 12, 13, 14, 15]) expect(pcrOf(d, i).equals(Buffer.alloc(48))).toBe(true);
    expect(d.payload.nonce).toBeNull();
  });

  it("matches the AWS user guide examples and the real document's PCR4", () => {
    // AWS Nitro Enclaves user guide, "Where to get an enclave's measurements".
    expect(pcr3ForRole("arn:aws:iam::123456789012:role/Webserver").toString("hex")).toBe(
      "78fce75db17cd4e0a3fb8dad3ad128ca5e77edbb2b2c7f75329dccd99aa5f6ef4fc1f1a452e315b9e98f9e312e6921e6",
    );
    expect(pcr4ForInstance("i-1234567890abcdef0").toString("hex")).toBe(
      "08f996b5d43e047a9eb51e7f548bfee7e164fd7dc8f65541f2ac09d6545ac812719327281c401a67a10fcba87ae79ce0",
    );
    // Real hardware: PCR4 of the evervault document = SHA384(0^48 || its parent instance id).
    expect(pcr4ForInstance(INSTANCE).equals(pcrOf(decodeDoc(REAL), 4))).toBe(true);
  });

  it("zeroes PCR0/1/2/8 in debug mode but keeps PCR3/PCR4, still signed by the chain", async () => {
    const doc = await signer(true).attest({ nonce: Buffer.from("01", "hex") });
    const d = decodeDoc(doc);
    for (const i of [0, 1, 2, 8]) expect(pcrOf(d, i).equals(Buffer.alloc(48))).toBe(true);
    expect(pcrOf(d, 3).equals(pcr3ForRole(ROLE))).toBe(true);
    expect(pcrOf(d, 4).equals(pcr4ForInstance(INSTANCE))).toBe(true);
    verify(doc, ca.rootDer, new Date(Number(d.payload.timestamp)));
  });

  it("re-issues the leaf before it expires so every document verifies at its timestamp", async () => {
    let now = new Date();
    const s = signer(false, () => now);
    const first = decodeDoc(await s.attest());
    now = new Date(now.getTime() + 2 * 3_600_000);
    const second = decodeDoc(await s.attest());
    expect(second.payload.certificate.equals(first.payload.certificate)).toBe(true);
    now = new Date(now.getTime() + 55 * 60_000); // 2 h 55 min after issuance: inside the renewal margin
    const thirdDoc = await s.attest();
    const third = decodeDoc(thirdDoc);
    expect(third.payload.certificate.equals(first.payload.certificate)).toBe(false);
    verify(thirdDoc, ca.rootDer, now);
  });

  it("refuses user fields above the NSM's 1024-byte limit", async () => {
    await expect(signer(false).attest({ nonce: Buffer.alloc(1025) })).rejects.toThrow(/1024/);
    await expect(signer(false).attest({ userData: Buffer.alloc(1024) })).resolves.toBeInstanceOf(Buffer);
  });
});

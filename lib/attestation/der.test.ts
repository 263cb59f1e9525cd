/**
 * The DER certificate reader against node:crypto (OpenSSL): on every real Nitro certificate it must read what
 * X509Certificate reads, print Names exactly as X509Certificate.subject/issuer do (or decline and leave them to
 * OpenSSL), and refuse what is not a v3 certificate of one signature algorithm.
 */
import "reflect-metadata";
import crypto from "node:crypto";
import * as x509 from "@peculiar/x509";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { DerError, readCertificateFields } from "./der";
import { parseAttestationDocument } from "./document";
import { certificateParts, der, loadIndex, loadVector, resign } from "./test-support";


/** How chain.ts showed Names before the reader existed: node:crypto's text with RDNs joined by ", ". */
const nodeText = (value: string) => value.split("\n").join(", ");

const realCertificates = (() => {
  const seen = new Map<string, { der: Uint8Array; issuer: Uint8Array | null }>();
  for (const entry of loadIndex()) {
    const parsed = parseAttestationDocument(loadVector(entry.file));
    if (!parsed.ok) continue;
    const ders = [...parsed.cose.cabundle, parsed.cose.certificate];
    ders.forEach((certificate, index) => {
      const key = crypto.createHash("sha256").update(certificate).digest("hex");
      if (!seen.has(key)) seen.set(key, { der: certificate, issuer: index === 0 ? null : ders[index - 1]! });
    });
  }
  return [...seen.values()];
})();

describe("real Nitro certificates", () => {
  it("are the 36 distinct certificates of the vectors", () => {
    expect(realCertificates).toHaveLength(36);
  });

  it("read as node:crypto reads them: names, validity, key, serial, CA flag, and a signature their issuer made", () => {
    for (const { der: certificate, issuer } of realCertificates) {
      const fields = readCertificateFields(certificate);
      const node = new crypto.X509Certificate(certificate);
      expect(fields.fullyRead).toBe(true);
      expect(fields.subjectText).toBe(nodeText(node.subject));
      expect(fields.issuerText).toBe(nodeText(node.issuer));
      expect(new Date(fields.notBeforeMs).toUTCString()).toBe(new Date(node.validFrom).toUTCString());
      expect(new Date(fields.notAfterMs).toUTCString()).toBe(new Date(node.validTo).toUTCString());
      expect(Buffer.from(fields.spki).equals(node.publicKey.export({ format: "der", type: "spki" }))).toBe(true);
      expect(fields.p384Key).toBe(node.publicKey.asymmetricKeyDetails?.namedCurve === "secp384r1");
      expect(BigInt(`0x${Buffer.from(fields.serialNumber).toString("hex")}`)).toBe(BigInt(`0x${node.serialNumber}`));
      const isCa = (fields.basicConstraints?.ca ?? false) && (fields.keyUsage === null || fields.keyUsage.includes("keyCertSign"));
      expect(isCa).toBe(node.ca);
      const issuerKey = new crypto.X509Certificate(issuer ?? certificate).publicKey;
      expect(crypto.verify("sha384", fields.tbs, { key: issuerKey, dsaEncoding: "der" }, fields.signatureValue!)).toBe(true);
      expect(node.verify(issuerKey)).toBe(true);
      if (issuer) expect(Buffer.from(fields.issuer).equals(Buffer.from(readCertificateFields(issuer).subject))).toBe(node.checkIssued(new crypto.X509Certificate(issuer)));
    }
  });
});

describe("Names are printed exactly as node:crypto prints them, or left to it", () => {
  let keys: CryptoKeyPair;
  beforeAll(async () => {
    x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);
    keys = (await crypto.webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])) as CryptoKeyPair;
  });

  async function selfSigned(name: x509.Name): Promise<Uint8Array> {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name, keys, serialNumber: "01", signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } });
    return new Uint8Array(cert.rawData);
  }

  it("every attribute type in the reader's table, as PrintableString, UTF8String and IA5String", async () => {
    const types = ["2.5.4.3", "2.5.4.4", "2.5.4.5", "2.5.4.6", "2.5.4.7", "2.5.4.8", "2.5.4.10", "2.5.4.11", "2.5.4.12", "2.5.4.42", "1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"];
    for (const type of types) {
      for (const kind of ["printableString", "utf8String", "ia5String"] as const) {
        const certificate = await selfSigned(new x509.Name([{ [type]: [{ [kind]: "Ab1 -.:=/?()'" }] }, { "2.5.4.3": [{ printableString: "x" }] }]));
        const text = readCertificateFields(certificate).subjectText;
        expect(text, `${type} ${kind}`).not.toBeNull();
        expect(text).toBe(nodeText(new crypto.X509Certificate(certificate).subject));
      }
    }
  });

  it("declines (null, and the certificate is not fullyRead) what OpenSSL escapes, converts or joins", async () => {
    const declined = [
      [{ CN: [{ utf8String: "a,b" }] }],
      [{ CN: [{ utf8String: "#a" }] }],
      [{ CN: [{ utf8String: " a" }] }],
      [{ CN: [{ utf8String: "a " }] }],
      [{ CN: [{ utf8String: "é" }] }],
      [{ CN: [{ bmpString: "abc" }] }],
      [{ CN: [{ printableString: "a" }], O: [{ printableString: "b" }] }],
      [{ "1.2.3.4": [{ utf8String: "unknown type" }] }],
    ];
    for (const json of declined) {
      const fields = readCertificateFields(await selfSigned(new x509.Name(json)));
      expect(fields.subjectText, JSON.stringify(json)).toBeNull();
      expect(fields.fullyRead).toBe(false);
    }
  });

  it("any Name: the reader's text, when it gives one, is node:crypto's", async () => {
    const types = ["CN", "O", "OU", "C", "L", "ST", "E", "DC", "2.5.4.5", "2.5.4.12", "1.2.3.4"];
    // Mostly characters printed as they are, with the ones OpenSSL escapes or converts mixed in.
    const character = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(..."aZ09 -.=/".split("")) }, { weight: 1, arbitrary: fc.constantFrom(..."#,+\"\\<>;é\t".split("")) });
    const value = fc.record({
      kind: fc.constantFrom("printableString", "utf8String", "ia5String"),
      text: fc.array(character, { minLength: 1, maxLength: 8 }).map((chars) => chars.join("")),
    });
    const attribute = fc.tuple(fc.constantFrom(...types), value);
    const rdn = fc.oneof({ weight: 5, arbitrary: fc.tuple(attribute) }, { weight: 1, arbitrary: fc.tuple(attribute, attribute) });
    let plain = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rdn, { minLength: 1, maxLength: 4 }), async (rdns) => {
        const json = rdns.map((attributes) => {
          const record: Record<string, Array<Record<string, string>>> = {};
          for (const [type, { kind, text }] of attributes) {
            // Non-ASCII only where the string type can carry it.
            (record[type] ??= []).push({ [kind]: kind === "utf8String" ? text : text.replace(/[^\x20-\x7e]/g, "x") });
          }
          return record;
        });
        const certificate = await selfSigned(new x509.Name(json));
        const fields = readCertificateFields(certificate);
        const node = new crypto.X509Certificate(certificate);
        if (fields.subjectText !== null) {
          plain++;
          expect(fields.subjectText).toBe(nodeText(node.subject));
          expect(fields.issuerText).toBe(nodeText(node.issuer));
        } else expect(fields.fullyRead).toBe(false);
      }),
      { numRuns: 80 },
    );
    // Not vacuous: plenty of generated names are inside what the reader prints itself.
    expect(plain).toBeGreaterThan(5);
  });
});

describe("refusals", () => {
  const leaf = realCertificates.find(({ der: certificate }) => !readCertificateFields(certificate).basicConstraints?.ca)!.der;
  const refuse = (certificate: Uint8Array, message: RegExp) => expect(() => readCertificateFields(certificate)).toThrow(message);

  it("an outer signatureAlgorithm that differs from the TBS one (OID or parameters)", () => {
    const sha256 = der(0x30, der(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)));
    const withNull = der(0x30, der(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03)), Uint8Array.of(0x05, 0x00));
    const { tbs, signature } = certificateParts(leaf);
    refuse(der(0x30, tbs, sha256, signature), /TBS and outer signature algorithms differ/);
    refuse(der(0x30, tbs, withNull, signature), /TBS and outer signature algorithms differ/);
    expect(() => new crypto.X509Certificate(der(0x30, tbs, sha256, signature)).verify(new crypto.X509Certificate(leaf).publicKey)).not.toThrow();
  });

  it("a version other than v3, a padded serial number, trailing or missing elements", () => {
    const key = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    refuse(resign(leaf, key, (fields) => fields.slice(1)), /expected version/); // v1: version omitted
    refuse(resign(leaf, key, (fields) => [der(0xa0, Uint8Array.of(0x02, 0x01, 0x01)), ...fields.slice(1)]), /version is not v3/);
    refuse(resign(leaf, key, (fields) => [fields[0]!, der(0x02, Uint8Array.of(0x00, 0x01)), ...fields.slice(2)]), /serialNumber is not a minimal INTEGER/);
    refuse(Uint8Array.from([...leaf, 0x00]), /certificate is not one SEQUENCE/);
    const { tbs, algorithm } = certificateParts(leaf);
    refuse(der(0x30, tbs, algorithm), /expected signature BIT STRING/);
  });

  it("basicConstraints with a pathLenConstraint but not cA, a non-DER BOOLEAN, a duplicated extension", () => {
    const key = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    const basicConstraints = (content: Uint8Array, critical: Uint8Array = Uint8Array.of(0x01, 0x01, 0xff)) =>
      der(0x30, der(0x06, Uint8Array.of(0x55, 0x1d, 0x13)), critical, der(0x04, der(0x30, content)));
    const withExtensions = (...extensions: Uint8Array[]) =>
      resign(leaf, key, (fields) => [...fields.slice(0, -1), der(0xa3, der(0x30, ...extensions))]);
    refuse(withExtensions(basicConstraints(Uint8Array.of(0x02, 0x01, 0x01))), /pathLenConstraint without cA/);
    refuse(withExtensions(basicConstraints(new Uint8Array(0), Uint8Array.of(0x01, 0x01, 0x01))), /bad BOOLEAN/);
    refuse(withExtensions(basicConstraints(new Uint8Array(0)), basicConstraints(new Uint8Array(0))), /duplicate extension 551d13/);
    expect(readCertificateFields(withExtensions(basicConstraints(new Uint8Array(0)))).basicConstraints).toEqual({ ca: false, pathLen: null });
  });

  it("every truncation of a real certificate is a DerError", () => {
    for (let cut = 0; cut < leaf.length; cut++) expect(() => readCertificateFields(leaf.subarray(0, cut))).toThrow(DerError);
  });
});

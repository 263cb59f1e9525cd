/**
 * Test-only support for the emulator tests: a throwaway lab CA that signs Nitro-style attestation documents
 * (COSE_Sign1, ES384, payload as in the Nitro spec), and a verifier for them written here with node:crypto, so
 * the emulator's tests do not depend on lib/attestation (the emulator only sees the injected verifier function).
 * Plus helpers to start an emulator on an ephemeral port in a temporary folder.
 */
import "reflect-metadata";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { Decoder, Encoder } from "cbor-x";
import { createAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from "./emulator";
import type { AttestationVerdict, AttestationVerifier } from "./kms";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const EC = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-384" } as const;

export interface LabCa {
  rootDer: Buffer;
  leafDer: Buffer;
  leafKey: crypto.KeyObject;
}

export async function createLabCa(): Promise<LabCa> {
  const rootKeys = await crypto.webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const leafKeys = await crypto.webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=lab-test-nitro-root",
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: SIGN,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=i-0lab0000000000001-enc0lab000000001",
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: SIGN,
  });
  const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey));
  return {
    rootDer: Buffer.from(root.rawData),
    leafDer: Buffer.from(leaf.rawData),
    leafKey: crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
  };
}

export const pcrHex = (seed: string): string => crypto.createHash("sha384").update(seed).digest("hex");

export interface SignedDocument {
  document: Buffer;
  privateKey: crypto.KeyObject;
}

/** A COSE_Sign1 attestation document carrying a fresh RSA public key, as the enclave sends KMS. */
export function signAttestationDocument(ca: LabCa, pcrs: Record<number, string>, moduleId = "i-0lab0000000000001-enc0lab000000001"): SignedDocument {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pcrMap = new Map<number, Buffer>();
  for (let i = 0; i < 16; i++) pcrMap.set(i, pcrs[i] !== undefined ? Buffer.from(pcrs[i] ?? "", "hex") : Buffer.alloc(48));
  const payload = encoder.encode(
    new Map<string, unknown>([
      ["module_id", moduleId],
      ["digest", "SHA384"],
      ["timestamp", Date.now()],
      ["pcrs", pcrMap],
      ["certificate", ca.leafDer],
      ["cabundle", [ca.rootDer]],
      ["public_key", publicKey.export({ format: "der", type: "spki" })],
      ["user_data", null],
      ["nonce", null],
    ]),
  );
  const protectedHeader = encoder.encode(new Map([[1, -35]]));
  const toSign = encoder.encode(["Signature1", protectedHeader, Buffer.alloc(0), payload]);
  const signature = crypto.sign("sha384", toSign, { key: ca.leafKey, dsaEncoding: "ieee-p1363" });
  return { document: Buffer.from(encoder.encode([protectedHeader, new Map(), payload, signature])), privateKey };
}

/** Verifies documents from `signAttestationDocument` against the pinned test root (chain, then ES384). */
export function testAttestationVerifier(rootDer: Buffer): AttestationVerifier {
  return (bytes): AttestationVerdict => {
    try {
      const cose = decoder.decode(Buffer.from(bytes)) as [Uint8Array, unknown, Uint8Array, Uint8Array];
      const [protectedHeader, , payloadBytes, signature] = cose;
      const payload = decoder.decode(payloadBytes) as Map<string, unknown>;
      const leaf = new crypto.X509Certificate(Buffer.from(payload.get("certificate") as Uint8Array));
      const bundle = (payload.get("cabundle") as Uint8Array[]).map((der) => Buffer.from(der));
      if (!bundle[0]?.equals(rootDer)) return { ok: false, reason: "the chain does not end at the trusted root" };
      const chain = [leaf, ...bundle.reverse().map((der) => new crypto.X509Certificate(der))];
      for (let i = 0; i + 1 < chain.length; i++) {
        if (!chain[i]!.verify(chain[i + 1]!.publicKey)) return { ok: false, reason: "certificate chain signature invalid" };
      }
      const toVerify = encoder.encode(["Signature1", protectedHeader, Buffer.alloc(0), payloadBytes]);
      if (!crypto.verify("sha384", toVerify, { key: leaf.publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
        return { ok: false, reason: "COSE signature invalid" };
      }
      const pcrs: Record<number, string> = {};
      for (const [index, value] of payload.get("pcrs") as Map<number, Uint8Array>) pcrs[index] = Buffer.from(value).toString("hex");
      return { ok: true, pcrs, publicKey: Buffer.from(payload.get("public_key") as Uint8Array), moduleId: String(payload.get("module_id")) };
    } catch (error) {
      return { ok: false, reason: `unreadable document: ${(error as Error).message}` };
    }
  };
}

export const ACCOUNT = "111122223333";
export const REGION = "eu-west-1";

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "aws-emulator-"));
}

export async function startEmulator(overrides: Partial<AwsEmulatorOptions> & { ca?: LabCa } = {}): Promise<{ emulator: AwsEmulator; dataDir: string }> {
  const { ca, ...rest } = overrides;
  const dataDir = rest.dataDir ?? tempDir();
  const emulator = await createAwsEmulator({
    dataDir,
    accountId: ACCOUNT,
    regions: [REGION, "us-east-1"],
    attestationVerifier: ca ? testAttestationVerifier(ca.rootDer) : () => ({ ok: false, reason: "no test CA" }),
    ...rest,
  });
  return { emulator, dataDir };
}

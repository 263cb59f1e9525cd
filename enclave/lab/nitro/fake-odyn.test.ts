import crypto from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { DescribeKeyCommand, GenerateRandomCommand, KMSClient } from "@aws-sdk/client-kms";
import { decode } from "cbor-x";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../supervisor/http-client";
import { AttestationSigner } from "./attestation-signer";
import { credentialScope, openRecipientEnvelope, startKmsProxy, startOdynApi, type KmsProxy } from "./fake-odyn";
import { ensureLabCa } from "./lab-ca";

const MEASUREMENTS = { pcr0: "11".repeat(48), pcr1: "22".repeat(48), pcr2: "33".repeat(48) };

interface Seen {
  target: string;
  authorization: string;
  body: Record<string, unknown>;
}

/**
 * A stand-in upstream KMS that answers with the lab contract's JSON envelope (the emulator's binary envelope is
 * covered by simulated-enclave.test.ts). It seals to the public key it finds in the Recipient document, using its
 * own code, not the proxy's.
 */
function fakeKms(seen: Seen[], secret: Buffer): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      const target = String(req.headers["x-amz-target"]);
      seen.push({ target, authorization: String(req.headers.authorization), body });
      if (target === "TrentService.DescribeKey") {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ KeyMetadata: { KeyId: body.KeyId } }));
        return;
      }
      if (target === "TrentService.Decrypt" && body.CiphertextBlob === Buffer.from("deny").toString("base64")) {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ __type: "AccessDeniedException", message: "nope" }));
        return;
      }
      const recipient = body.Recipient as { AttestationDocument: string; KeyEncryptionAlgorithm: string };
      const cose = decode(Buffer.from(recipient.AttestationDocument, "base64")) as Buffer[];
      const payload = decode(cose[2]!) as { public_key: Buffer };
      const pub = crypto.createPublicKey({ key: Buffer.from(payload.public_key), format: "der", type: "spki" });
      const cek = crypto.randomBytes(32);
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv("aes-256-gcm", cek, iv);
      const ct = Buffer.concat([c.update(secret), c.final()]);
      const envelope = {
        v: 1,
        alg: "RSAES_OAEP_SHA_256+A256GCM",
        ek: crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, cek).toString("base64"),
        iv: iv.toString("base64"),
        ct: ct.toString("base64"),
        tag: c.getAuthTag().toString("base64"),
      };
      res
        .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
        .end(JSON.stringify({ KeyId: "k", CiphertextForRecipient: Buffer.from(JSON.stringify(envelope)).toString("base64") }));
    });
  });
}

describe("fake Odyn", () => {
  let dir: string;
  let signer: AttestationSigner;
  let odyn: RunningServer;
  let proxy: KmsProxy;
  let upstream: http.Server;
  const seen: Seen[] = [];
  const secret = crypto.randomBytes(32);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fake-odyn-"));
    const ca = await ensureLabCa(dir);
    signer = new AttestationSigner({
      ca,
      region: "us-east-1",
      parentInstanceId: "i-0123456789abcdef0",
      enclaveId: "0123456789abcdef",
      roleArn: "arn:aws:iam::111122223333:role/r",
      measurements: MEASUREMENTS,
      debugMode: false,
    });
    odyn = await startOdynApi({ signer, port: 0 });
    upstream = fakeKms(seen, secret);
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    proxy = await startKmsProxy({
      signer,
      port: 0,
      upstream: { endpoint: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, accessKeyId: "AKIDENCLAVE", secretAccessKey: "s3cret" },
    });
  });
  afterAll(async () => {
    await Promise.all([odyn.close(), proxy.close()]);
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    await fs.rm(dir, { recursive: true, force: true });
  });

  const attest = (body: string, method = "POST", p = "/v1/attestation") => fetch(`${odyn.url}${p}`, { method, ...(method === "POST" ? { body } : {}) });

  it("answers POST /v1/attestation with a raw CBOR document carrying the base64 fields, as Odyn does", async () => {
    const { publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
    const pem = publicKey.export({ format: "pem", type: "spki" }).toString();
    const res = await attest(JSON.stringify({ nonce: Buffer.from("the nonce").toString("base64"), user_data: Buffer.from("my data").toString("base64"), public_key: pem }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/cbor");
    const doc = Buffer.from(await res.arrayBuffer());
    const payload = decode((decode(doc) as Buffer[])[2]!) as { nonce: Buffer; user_data: Buffer; public_key: Buffer };
    expect(Buffer.from(payload.nonce).toString()).toBe("the nonce");
    expect(Buffer.from(payload.user_data).toString()).toBe("my data");
    // Odyn puts the SPKI's subjectPublicKey bits (the uncompressed EC point here) in public_key, not the whole SPKI.
    const raw = publicKey.export({ format: "jwk" });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(raw.x!, "base64url"), Buffer.from(raw.y!, "base64url")]);
    expect(Buffer.from(payload.public_key).equals(point)).toBe(true);
  });

  it("mirrors Odyn's errors: 404 path, 405 method, 400 bad JSON / base64 / PEM, empty body fields are optional", async () => {
    expect((await attest("{}", "POST", "/v1/other")).status).toBe(404);
    expect((await attest("", "GET")).status).toBe(405);
    expect((await attest("{nope")).status).toBe(400);
    expect((await attest(JSON.stringify({ nonce: "***" }))).status).toBe(400);
    expect((await attest(JSON.stringify({ nonce: 5 }))).status).toBe(400);
    expect((await attest(JSON.stringify({ public_key: "not a pem" }))).status).toBe(400);
    const empty = await attest("{}");
    expect(empty.status).toBe(200);
    const payload = decode((decode(Buffer.from(await empty.arrayBuffer())) as Buffer[])[2]!) as Record<string, unknown>;
    expect(payload.nonce).toBeNull();
    expect((await attest(JSON.stringify({ nonce: Buffer.alloc(1025).toString("base64") }))).status).toBe(500);
  });

  it("adds a Recipient with its RSA key to attesting calls, re-signs them, and returns the unwrapped Plaintext", async () => {
    const kms = new KMSClient({ endpoint: proxy.url, region: "eu-west-1", credentials: { accessKeyId: "anything", secretAccessKey: "anything" }, maxAttempts: 1 });
    const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    expect(Buffer.from(out.Plaintext!).equals(secret)).toBe(true);
    expect("CiphertextForRecipient" in out).toBe(false);
    const call = seen.find((s) => s.target === "TrentService.GenerateRandom")!;
    expect(call.body.NumberOfBytes).toBe(32);
    const recipient = call.body.Recipient as { AttestationDocument: string; KeyEncryptionAlgorithm: string };
    expect(recipient.KeyEncryptionAlgorithm).toBe("RSAES_OAEP_SHA_256");
    const payload = decode((decode(Buffer.from(recipient.AttestationDocument, "base64")) as Buffer[])[2]!) as { public_key: Buffer };
    expect(Buffer.from(payload.public_key).equals(proxy.publicKeyDer)).toBe(true);
    expect(crypto.createPublicKey({ key: proxy.publicKeyDer, format: "der", type: "spki" }).asymmetricKeyDetails?.modulusLength).toBe(2048);
    // Re-signed with the enclave's credentials, for the caller's region.
    expect(call.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDENCLAVE\/\d{8}\/eu-west-1\/kms\/aws4_request, SignedHeaders=[^,]*x-amz-target/);

    // Non-attesting actions are forwarded re-signed, without a Recipient.
    const described = await kms.send(new DescribeKeyCommand({ KeyId: "alias/x" }));
    expect(described.KeyMetadata?.KeyId).toBe("alias/x");
    const describe = seen.find((s) => s.target === "TrentService.DescribeKey")!;
    expect(describe.body.Recipient).toBeUndefined();
    expect(describe.authorization).toContain("Credential=AKIDENCLAVE/");

    // Errors from KMS pass through unchanged.
    await expect(kms.send(new (await import("@aws-sdk/client-kms")).DecryptCommand({ CiphertextBlob: Buffer.from("deny") }))).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    kms.destroy();
  });

  it("refuses unsigned requests and requests signed for another service", async () => {
    const post = (authorization?: string) =>
      fetch(proxy.url, {
        method: "POST",
        headers: { "x-amz-target": "TrentService.GenerateRandom", "content-type": "application/x-amz-json-1.1", ...(authorization ? { authorization } : {}) },
        body: "{}",
      });
    expect((await post()).status).toBe(400);
    expect((await post("AWS4-HMAC-SHA256 Credential=AK/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00")).status).toBe(400);
    expect(credentialScope("AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00")).toEqual({
      region: "us-east-1",
      service: "kms",
    });
  });

  it("opens the AWS emulator's LRCP envelope and refuses anything else", async () => {
    const { sealForRecipient } = await import("../aws/kms-crypto");
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const plaintext = crypto.randomBytes(48);
    const env = sealForRecipient(plaintext, publicKey.export({ format: "der", type: "spki" }));
    expect(openRecipientEnvelope(env, privateKey).equals(plaintext)).toBe(true);
    const tampered = Buffer.from(env);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(() => openRecipientEnvelope(tampered, privateKey)).toThrow();
    expect(() => openRecipientEnvelope(Buffer.from("garbage"), privateKey)).toThrow(/unrecognised/);
  });
});

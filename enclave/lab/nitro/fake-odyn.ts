import crypto from "node:crypto";
import http from "node:http";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { httpRequest, listen, readBody, sendText, type RunningServer } from "../../supervisor/http-client";
import type { AttestationSigner } from "./attestation-signer";

/**
 * Stand-in for Enclaver's in-enclave Odyn (edgebitio/enclaver @ f97ec5ba: src/api.rs, src/proxy/kms.rs):
 *
 * - API (`api.listen_port`): POST /v1/attestation with JSON {nonce?, user_data?, public_key?} — nonce and user_data
 *   base64, public_key a PEM SubjectPublicKeyInfo — answers 200 `application/cbor` with the raw document. Like
 *   Odyn, the PEM's *subjectPublicKey bit string* (not the whole SPKI) is what lands in the document's public_key.
 *   Other paths 404, other methods 405, bad JSON/base64/PEM 400.
 * - KMS proxy (`kms_proxy.listen_port`): for Decrypt, DeriveSharedSecret, GenerateDataKey, GenerateDataKeyPair and
 *   GenerateRandom it adds `Recipient {AttestationDocument, KeyEncryptionAlgorithm: RSAES_OAEP_SHA_256}` (document with
 *   the proxy's RSA-2048 public key as DER SPKI), re-signs with the enclave's credentials, forwards to KMS, unwraps
 *   `CiphertextForRecipient` and returns the plaintext. Other actions are forwarded re-signed. The caller's own
 *   signature is not checked (the caller is inside the enclave); only its region and service are read from it.
 */

const MAX_API_BODY = 64 * 1024;
const MAX_KMS_BODY = 1024 * 1024;
const ATTESTING_ACTIONS = [
  "TrentService.Decrypt",
  "TrentService.DeriveSharedSecret",
  "TrentService.GenerateDataKey",
  "TrentService.GenerateDataKeyPair",
  "TrentService.GenerateRandom",
];

// -------------------------------------------------------------------------------------------------- Odyn API

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64Strict(s: string, field: string): Buffer {
  if (!BASE64.test(s)) throw new Error(`${field}: invalid base64`);
  return Buffer.from(s, "base64");
}

/** subjectPublicKey BIT STRING contents of a PEM SPKI, as Odyn's `pem_decode` returns them. */
function subjectPublicKeyBits(pem: string): Buffer {
  const spki = crypto.createPublicKey(pem).export({ format: "der", type: "spki" });
  // SPKI = SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING }: walk the two TLVs.
  const readLen = (b: Buffer, at: number): [number, number] => {
    const first = b[at]!;
    if (first < 0x80) return [first, at + 1];
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at + 1 + i]!;
    return [len, at + 1 + n];
  };
  const [, seqBody] = readLen(spki, 1);
  const [algLen, algBody] = readLen(spki, seqBody + 1);
  const bitStringAt = algBody + algLen;
  if (spki[bitStringAt] !== 0x03) throw new Error("public_key: not a SubjectPublicKeyInfo");
  const [bitsLen, bitsBody] = readLen(spki, bitStringAt + 1);
  // First content byte = number of unused bits (0 for keys).
  return Buffer.from(spki.subarray(bitsBody + 1, bitsBody + bitsLen));
}

export function createOdynApiHandler(signer: AttestationSigner): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://odyn");
    if (url.pathname !== "/v1/attestation") return sendText(res, 404, "Not Found");
    if (req.method !== "POST") return sendText(res, 405, "Method Not Allowed");
    (async () => {
      let params: { nonce: Buffer | null; userData: Buffer | null; publicKey: Buffer | null };
      try {
        const json = JSON.parse((await readBody(req, MAX_API_BODY)).toString("utf8")) as Record<string, unknown>;
        if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error("expected a JSON object");
        const str = (k: string): string | null => {
          const v = json[k];
          if (v === undefined || v === null) return null;
          if (typeof v !== "string") throw new Error(`${k}: expected a string`);
          return v;
        };
        const nonce = str("nonce");
        const userData = str("user_data");
        const publicKey = str("public_key");
        params = {
          nonce: nonce === null ? null : decodeBase64Strict(nonce, "nonce"),
          userData: userData === null ? null : decodeBase64Strict(userData, "user_data"),
          publicKey: publicKey === null ? null : subjectPublicKeyBits(publicKey),
        };
      } catch (err) {
        return sendText(res, 400, (err as Error).message);
      }
      let doc: Buffer;
      try {
        doc = await signer.attest(params);
      } catch (err) {
        // The NSM refuses oversize fields; Odyn surfaces NSM errors as a server error.
        return sendText(res, 500, `nsm request failed: ${(err as Error).message}`);
      }
      res.writeHead(200, { "content-type": "application/cbor", "content-length": doc.length });
      res.end(doc);
    })().catch(() => {
      if (!res.headersSent) sendText(res, 500, "internal error");
    });
  };
}

export async function startOdynApi(opts: { signer: AttestationSigner; port: number; host?: string }): Promise<RunningServer> {
  return listen(http.createServer(createOdynApiHandler(opts.signer)), opts.port, opts.host);
}

// -------------------------------------------------------------------------------------------------- KMS proxy

export interface KmsUpstream {
  /** KMS endpoint (the lab's AWS emulator; kms.<region>.amazonaws.com in production). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const RECIPIENT_MAGIC = Buffer.from("LRCP");

/**
 * Unwraps `CiphertextForRecipient` with the proxy's RSA key. Two envelope formats are understood:
 * - the AWS emulator's "LRCP" v1 (enclave/lab/aws/kms-crypto.ts): "LRCP" | 0x01 | len u16 | RSA-OAEP-SHA256(cek) | iv | tag | ct
 * - the lab contract's JSON {"v":1,"alg":"RSAES_OAEP_SHA_256+A256GCM","ek","iv","ct","tag"} (base64 fields).
 * Real KMS returns CMS EnvelopedData; the fake proxy never talks to real KMS.
 */
export function openRecipientEnvelope(envelope: Buffer, privateKey: crypto.KeyObject): Buffer {
  const oaep = (wrapped: Buffer) =>
    crypto.privateDecrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, wrapped);
  const gcmOpen = (key: Buffer, iv: Buffer, tag: Buffer, ct: Buffer, aad: Buffer | null) => {
    const d = crypto.createDecipheriv("aes-256-gcm", key, iv);
    if (aad) d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  };
  if (envelope.length >= 7 && envelope.subarray(0, 4).equals(RECIPIENT_MAGIC) && envelope[4] === 1) {
    const wrappedLength = envelope.readUInt16BE(5);
    const headLength = 7 + wrappedLength;
    if (envelope.length < headLength + 28) throw new Error("truncated CiphertextForRecipient envelope");
    const cek = oaep(envelope.subarray(7, headLength));
    return gcmOpen(
      cek,
      envelope.subarray(headLength, headLength + 12),
      envelope.subarray(headLength + 12, headLength + 28),
      envelope.subarray(headLength + 28),
      envelope.subarray(0, headLength),
    );
  }
  if (envelope[0] === 0x7b) {
    const j = JSON.parse(envelope.toString("utf8")) as Record<string, unknown>;
    if (j.v !== 1 || j.alg !== "RSAES_OAEP_SHA_256+A256GCM") throw new Error("unknown JSON recipient envelope");
    const b = (k: string) => {
      const v = j[k];
      if (typeof v !== "string") throw new Error(`recipient envelope lacks ${k}`);
      return Buffer.from(v, "base64");
    };
    return gcmOpen(oaep(b("ek")), b("iv"), b("tag"), b("ct"), null);
  }
  throw new Error("unrecognised CiphertextForRecipient envelope");
}

/** Region and service from `AWS4-HMAC-SHA256 Credential=AKID/date/<region>/<service>/aws4_request, …`. */
export function credentialScope(authorization: string | undefined): { region: string; service: string } | null {
  const m = /AWS4-HMAC-SHA256 Credential=[^/]*\/[^/]*\/([^/]+)\/([^/]+)\/aws4_request,/.exec(authorization ?? "");
  return m ? { region: m[1]!, service: m[2]! } : null;
}

/** Which response field carries the unwrapped secret for each attesting action. */
function plaintextField(action: string): string {
  if (action === "TrentService.GenerateDataKeyPair") return "PrivateKeyPlaintext";
  if (action === "TrentService.DeriveSharedSecret") return "SharedSecret";
  return "Plaintext";
}

function kmsError(res: http.ServerResponse, status: number, type: string, message: string): void {
  const body = Buffer.from(JSON.stringify({ __type: type, message }));
  res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "content-length": body.length });
  res.end(body);
}

export interface KmsProxy extends RunningServer {
  /** DER SPKI of the proxy's RSA key (what goes into the attestation document). */
  publicKeyDer: Buffer;
}

export async function startKmsProxy(opts: {
  signer: AttestationSigner;
  upstream: KmsUpstream;
  port: number;
  host?: string;
  onEvent?: (event: string, detail: Record<string, unknown>) => void;
}): Promise<KmsProxy> {
  // One RSA-2048 key pair per proxy lifetime, never persisted — as Enclaver's Odyn does (KeyPair::generate at start).
  const { publicKey, privateKey } = await new Promise<{ publicKey: crypto.KeyObject; privateKey: crypto.KeyObject }>((resolve, reject) =>
    crypto.generateKeyPair("rsa", { modulusLength: 2048 }, (err, pub, priv) => (err ? reject(err) : resolve({ publicKey: pub, privateKey: priv }))),
  );
  const publicKeyDer = publicKey.export({ format: "der", type: "spki" });
  const upstreamUrl = new URL(opts.upstream.endpoint);

  async function forward(action: string, body: Buffer, region: string) {
    const signer = new SignatureV4({
      service: "kms",
      region,
      credentials: {
        accessKeyId: opts.upstream.accessKeyId,
        secretAccessKey: opts.upstream.secretAccessKey,
        ...(opts.upstream.sessionToken ? { sessionToken: opts.upstream.sessionToken } : {}),
      },
      sha256: Hash.bind(null, "sha256"),
    });
    const path = upstreamUrl.pathname || "/";
    const signed = await signer.sign({
      method: "POST",
      protocol: upstreamUrl.protocol,
      hostname: upstreamUrl.hostname,
      ...(upstreamUrl.port ? { port: Number(upstreamUrl.port) } : {}),
      path,
      query: {},
      headers: {
        host: upstreamUrl.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": action,
      },
      body,
    });
    return httpRequest(new URL(path, upstreamUrl).href, { method: "POST", headers: signed.headers, body, timeoutMs: 15_000 });
  }

  const server = http.createServer((req, res) => {
    (async () => {
      const body = await readBody(req, MAX_KMS_BODY);
      const scope = credentialScope(req.headers.authorization);
      if (!scope) return kmsError(res, 400, "MissingAuthenticationTokenException", "No AWS SigV4 found in the request");
      if (scope.service !== "kms") return kmsError(res, 400, "InvalidSignatureException", `Received request signed for a non-KMS (${scope.service}) service`);
      const target = String(req.headers["x-amz-target"] ?? "");
      if (!target) return kmsError(res, 400, "UnknownOperationException", "KMS Action is missing");
      const attesting = req.method === "POST" && (req.url ?? "/") === "/" && ATTESTING_ACTIONS.some((a) => a.toLowerCase() === target.toLowerCase());
      if (!attesting) {
        const upstream = await forward(target, body, scope.region);
        opts.onEvent?.("kms-forwarded", { action: target, status: upstream.status });
        res.writeHead(upstream.status, { "content-type": String(upstream.headers["content-type"] ?? "application/x-amz-json-1.1") });
        return res.end(upstream.body);
      }
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      } catch {
        return kmsError(res, 400, "SerializationException", "request body is not JSON");
      }
      const document = await opts.signer.attest({ publicKey: publicKeyDer });
      request.Recipient = { AttestationDocument: document.toString("base64"), KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256" };
      const upstream = await forward(target, Buffer.from(JSON.stringify(request)), scope.region);
      opts.onEvent?.("kms-attested-call", { action: target, status: upstream.status });
      if (upstream.status !== 200) {
        res.writeHead(upstream.status, { "content-type": String(upstream.headers["content-type"] ?? "application/x-amz-json-1.1") });
        return res.end(upstream.body);
      }
      const response = JSON.parse(upstream.body.toString("utf8")) as Record<string, unknown>;
      const wrapped = response.CiphertextForRecipient;
      if (typeof wrapped !== "string") return kmsError(res, 502, "KMSInternalException", "Response body is missing 'CiphertextForRecipient'");
      delete response.CiphertextForRecipient;
      response[plaintextField(target)] = openRecipientEnvelope(Buffer.from(wrapped, "base64"), privateKey).toString("base64");
      const out = Buffer.from(JSON.stringify(response));
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": out.length });
      res.end(out);
    })().catch((err: Error) => {
      opts.onEvent?.("kms-proxy-error", { error: err.message });
      if (!res.headersSent) kmsError(res, 502, "KMSInternalException", `KMS proxy: ${err.message}`);
    });
  });
  const running = await listen(server, opts.port, opts.host);
  return { ...running, publicKeyDer };
}

/**
 * SigV4 verification for the emulator: the same canonical request, string to sign and signing-key derivation AWS
 * uses (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), computed
 * with node:crypto so a request signed with the wrong secret is refused exactly as AWS refuses it. Pure: the
 * caller passes the request parts and a secret lookup.
 */
import crypto from "node:crypto";
import { AwsError } from "./errors";

export interface SignedRequest {
  method: string;
  /** Raw request target as received (path and query, still percent-encoded). */
  url: string;
  /** Header names in lower case, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
  service: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const MAX_SKEW_MS = 15 * 60 * 1000;
const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

function header(headers: SignedRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case), as SigV4 requires. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Non-S3 services encode each path segment once more on top of the encoding already on the wire. */
function canonicalPath(rawPath: string): string {
  if (rawPath === "" || rawPath === "/") return "/";
  return rawPath
    .split("/")
    .map((segment) => uriEncode(segment))
    .join("/");
}

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return "";
  return rawQuery
    .split("&")
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, " "));
      const value = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
      return [uriEncode(name), uriEncode(value)] as const;
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** `20240102T030405Z` -> epoch ms, or NaN. */
export function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

const sha256Hex = (data: string | Buffer): string => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => crypto.createHmac("sha256", key).update(data).digest();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

export function computeSignature(
  request: SignedRequest,
  signedHeaders: string[],
  amzDate: string,
  scope: { date: string; region: string; service: string },
  secret: string,
): string {
  const [rawPath = "/", rawQuery = ""] = request.url.split("?", 2);
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(request.headers, name) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payloadHash = header(request.headers, "x-amz-content-sha256") ?? sha256Hex(request.body);
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join("\n");
  return hmac(signingKey(secret, scope.date, scope.region, scope.service), stringToSign).toString("hex");
}

/**
 * Checks the Authorization header of `request`. Throws the AwsError AWS would answer with; returns who signed.
 * `expectedService` is the signing name of the service the target belongs to (kms, cloudtrail, logs).
 */
export function verifySigV4(
  request: SignedRequest,
  lookupSecret: (accessKeyId: string) => string | undefined,
  expectedService: string,
  nowMs: number,
): VerifiedCaller {
  const authorization = header(request.headers, "authorization");
  if (!authorization) throw new AwsError("MissingAuthenticationTokenException", "Missing Authentication Token");
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(
    authorization,
  );
  if (!m) {
    throw new AwsError("IncompleteSignatureException", `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`);
  }
  const [, credential = "", signedHeaderList = "", signature = ""] = m;
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request") {
    throw new AwsError("IncompleteSignatureException", `Credential should be scoped to a valid region. `);
  }
  const [accessKeyId = "", date = "", region = "", service = ""] = parts;
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) {
    throw new AwsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (service !== expectedService) {
    throw new AwsError("InvalidSignatureException", `Credential should be scoped to correct service: '${expectedService}'. `);
  }
  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host")) {
    throw new AwsError("InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const amzDate = header(request.headers, "x-amz-date") ?? "";
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !signedHeaders.includes("x-amz-date")) {
    throw new AwsError("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (amzDate.slice(0, 8) !== date) {
    throw new AwsError("InvalidSignatureException", `Credential should be scoped to a valid date: '${amzDate.slice(0, 8)}'.`);
  }
  if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) {
    const earlier = nowMs > signedAt;
    const fmt = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, "");
    throw new AwsError(
      "InvalidSignatureException",
      earlier
        ? `Signature expired: ${amzDate} is now earlier than ${fmt(nowMs - MAX_SKEW_MS)} (${fmt(nowMs)} - 15 min.)`
        : `Signature not yet current: ${amzDate} is still later than ${fmt(nowMs + MAX_SKEW_MS)} (${fmt(nowMs)} + 15 min.)`,
    );
  }
  // The body hash the client signed must be the body we received, or a signature over headers alone would
  // let anyone replace the payload (UNSIGNED-PAYLOAD is an S3-only convention, so it fails here too).
  const claimedHash = header(request.headers, "x-amz-content-sha256");
  if (claimedHash !== undefined && claimedHash !== sha256Hex(request.body)) {
    throw new AwsError("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const expected = computeSignature(request, signedHeaders, amzDate, { date, region, service }, secret);
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(signature, "hex");
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) throw new AwsError("InvalidSignatureException", SIGNATURE_MISMATCH);
  return { accessKeyId, region, service };
}

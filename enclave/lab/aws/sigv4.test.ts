import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { verifySigV4, type SignedRequest } from "./sigv4";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const lookup = (id: string) => (id === "AKIDEXAMPLE" ? SECRET : undefined);

/** Signs with the SDK's own signer, so the verifier is checked against an independent implementation. */
async function sign(path: string, query: Record<string, string>, body: string, at = new Date()): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET }, region: "eu-west-1", service: "kms", sha256: Hash.bind(null, "sha256") });
  const signed = await signer.sign(
    { method: "POST", protocol: "http:", hostname: "127.0.0.1", port: 4566, path, query, headers: { host: "127.0.0.1:4566", "x-amz-target": "TrentService.ListKeys" }, body },
    { signingDate: at },
  );
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
  return { method: "POST", url: qs ? `${path}?${qs}` : path, headers, body: Buffer.from(body) };
}

describe("verifySigV4", () => {
  it("accepts what @smithy/signature-v4 signs, with a path and a query string", async () => {
    const request = await sign("/a path/x", { b: "2", a: "1 2" }, '{"Limit":5}');
    expect(verifySigV4(request, lookup, "kms", Date.now())).toEqual({ accessKeyId: "AKIDEXAMPLE", region: "eu-west-1", service: "kms" });
  });

  it("refuses a changed body, header, or service scope, and a request outside the time window", async () => {
    const request = await sign("/", {}, '{"Limit":5}');
    expect(() => verifySigV4({ ...request, body: Buffer.from('{"Limit":6}') }, lookup, "kms", Date.now())).toThrow(/x-amz-content-sha256|signature/);
    const retargeted = { ...request, headers: { ...request.headers, "x-amz-target": "TrentService.Decrypt" } };
    expect(() => verifySigV4(retargeted, lookup, "kms", Date.now())).toThrow(/signature we calculated does not match/);
    expect(() => verifySigV4(request, lookup, "logs", Date.now())).toThrow(/scoped to correct service/);
    expect(() => verifySigV4(request, lookup, "kms", Date.now() + 16 * 60_000)).toThrow(/Signature expired/);
    expect(() => verifySigV4(request, () => undefined, "kms", Date.now())).toThrow(/security token included in the request is invalid/);
    const { authorization: _dropped, ...unsigned } = request.headers;
    expect(() => verifySigV4({ ...request, headers: unsigned }, lookup, "kms", Date.now())).toThrow(/Missing Authentication Token/);
  });
});

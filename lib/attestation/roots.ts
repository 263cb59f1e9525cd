/**
 * Pinned trust anchors. The AWS Nitro Enclaves Root-G1 is embedded so that verification needs no download; its
 * identity is the SHA-256 of its DER (641a…bb5b, per AWS's attestation_process.md and confirmed on every real
 * document's cabundle[0]). Lab roots (the simulator's) are accepted only when a caller adds them, and are always
 * reported as kind "lab" so no lab-signed document can pass for a hardware one.
 */
import { X509Certificate } from "node:crypto";
import { sha256Hex } from "./document";
import type { RootKind, TrustedRoot } from "./types";

/** From https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip (root.pem). */
export const AWS_NITRO_ROOT_G1_PEM = `-----BEGIN CERTIFICATE-----
${"MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL"}
${"MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD"}
${"VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4"}
${"MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL"}
${"DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG"}
${"BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb"}
${"48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE"}
${"h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF"}
${"R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC"}
${"MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW"}
${"rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N"}
${"IwLz3/Y="}
-----END CERTIFICATE-----
`;

/** SHA-256 of the Root-G1 DER. Only a root with exactly this hash may be reported as kind "aws". */
export const AWS_NITRO_ROOT_G1_SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

const PEM_BLOCK = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----\s*$/;

/** Decodes a single-certificate PEM to DER. Throws on anything else (this runs on configuration, not on input). */
export function pemToDer(pem: string): Uint8Array {
  const match = PEM_BLOCK.exec(pem.trim());
  if (!match) throw new Error("expected exactly one PEM CERTIFICATE block");
  const body = match[1]!.replace(/\s+/g, "");
  const der = Buffer.from(body, "base64");
  if (der.length === 0 || der.toString("base64").replace(/=+$/, "") !== body.replace(/=+$/, "")) throw new Error("PEM body is not valid base64");
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength);
}

/**
 * Builds a trust anchor from a PEM certificate. kind "aws" is allowed only for the genuine Root-G1 (any other
 * certificate claiming to be AWS is a configuration error); every caller-supplied root is otherwise "lab".
 */
export function trustedRootFromPem(pem: string, kind: RootKind, label: string): TrustedRoot {
  const der = pemToDer(pem);
  new X509Certificate(der); // throws when OpenSSL cannot parse it
  const sha256 = sha256Hex(der);
  if (kind === "aws" && sha256 !== AWS_NITRO_ROOT_G1_SHA256) {
    throw new Error(`certificate ${sha256} is not the AWS Nitro Enclaves Root-G1; add it as a "lab" root`);
  }
  return Object.freeze({ kind, label, sha256, der });
}

let awsRoot: TrustedRoot | undefined;

/** The built-in AWS Nitro Enclaves Root-G1 trust anchor. */
export function awsNitroRootG1(): TrustedRoot {
  awsRoot ??= trustedRootFromPem(AWS_NITRO_ROOT_G1_PEM, "aws", "AWS Nitro Enclaves Root-G1");
  return awsRoot;
}

/**
 * Certificates for the agent's mutual TLS in the lab. Real deployments bring their own files (config paths);
 * the lab generates, once, and then reuses:
 *   console-client-ca  -> console-client   (the console's client certificate; agents trust only this CA)
 *   agent-ca           -> agents/<hostId>  (each agent's server certificate, SAN 127.0.0.1 + localhost)
 * The console pins each agent's certificate by SHA-256 of its DER, so the agent CA alone is not enough to
 * impersonate an agent.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "./key-store";
import { withDirLock } from "../shared/dir-lock";

x509.cryptoProvider.set(crypto.webcrypto as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface LabAgentCerts {
  consoleCaPem: string;
  consoleClient: PemPair;
  agentCaPem: string;
  agent: PemPair;
  /** SHA-256 of the agent certificate's DER, lower-case hex: what the console pins. */
  agentCertSha256: string;
  files: {
    consoleCa: string;
    consoleClientCert: string;
    consoleClientKey: string;
    agentCa: string;
    agentCert: string;
    agentKey: string;
  };
}

export function certSha256(certPem: string): string {
  return new crypto.X509Certificate(certPem).fingerprint256.replace(/:/g, "").toLowerCase();
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await crypto.webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

function keyPem(key: CryptoKey): string {
  return crypto.KeyObject.from(key).export({ type: "pkcs8", format: "pem" }).toString();
}

function serial(): string {
  // Positive, 16 bytes: the top bit cleared so DER does not read it as negative.
  const b = crypto.randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

/** A self-signed CA, valid 10 years. */
export async function createCa(commonName: string): Promise<PemPair & { keys: CryptoKeyPair; cert: x509.X509Certificate }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}, O=Acra Nitro Lab`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: keyPem(keys.privateKey), keys, cert };
}

/** A leaf for TLS server or client use, signed by `ca`. */
export async function issueLeaf(
  ca: { certPem: string; keyPem: string },
  commonName: string,
  usage: "server" | "client",
): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await crypto.webcrypto.subtle.importKey(
    "pkcs8",
    crypto.createPrivateKey(ca.keyPem).export({ type: "pkcs8", format: "der" }),
    ALG,
    false,
    ["sign"],
  );
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (usage === "server") {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}, O=Acra Nitro Lab`,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 825 * DAY),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: keyPem(keys.privateKey) };
}

async function readPair(certFile: string, keyFile: string): Promise<PemPair | null> {
  try {
    return { certPem: await fs.readFile(certFile, "utf8"), keyPem: await fs.readFile(keyFile, "utf8") };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

async function writePair(certFile: string, keyFile: string, pair: PemPair): Promise<void> {
  // Key first: a reader that finds the certificate can rely on the key being there.
  await writeFileAtomic(keyFile, pair.keyPem, 0o600);
  await writeFileAtomic(certFile, pair.certPem, 0o644);
}


async function ensurePair(certFile: string, keyFile: string, make: () => Promise<PemPair>): Promise<PemPair> {
  const existing = await readPair(certFile, keyFile);
  if (existing) return existing;
  const pair = await make();
  await writePair(certFile, keyFile, pair);
  return pair;
}

/**
 * Creates (first call) or reuses the lab's TLS material for one agent. `dir` is shared by all lab hosts, so they
 * all trust the same console client CA and their certificates come from the same agent CA.
 */
export async function ensureLabAgentCerts(dir: string, hostId: string): Promise<LabAgentCerts> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(hostId)) throw new Error(`invalid host id ${JSON.stringify(hostId)}`);
  await fs.mkdir(path.join(dir, "agents"), { recursive: true, mode: 0o700 });
  const files = {
    consoleCa: path.join(dir, "console-client-ca.pem"),
    consoleCaKey: path.join(dir, "console-client-ca.key.pem"),
    consoleClientCert: path.join(dir, "console-client.pem"),
    consoleClientKey: path.join(dir, "console-client.key.pem"),
    agentCa: path.join(dir, "agent-ca.pem"),
    agentCaKey: path.join(dir, "agent-ca.key.pem"),
    agentCert: path.join(dir, "agents", `${hostId}.pem`),
    agentKey: path.join(dir, "agents", `${hostId}.key.pem`),
  };
  return withDirLock(dir, async () => {
    const consoleCa = await ensurePair(files.consoleCa, files.consoleCaKey, () => createCa("Lab console client CA"));
    const consoleClient = await ensurePair(files.consoleClientCert, files.consoleClientKey, () =>
      issueLeaf(consoleCa, "acra-nitro-console", "client"),
    );
    const agentCa = await ensurePair(files.agentCa, files.agentCaKey, () => createCa("Lab host agent CA"));
    const agent = await ensurePair(files.agentCert, files.agentKey, () => issueLeaf(agentCa, `agent ${hostId}`, "server"));
    return {
      consoleCaPem: consoleCa.certPem,
      consoleClient,
      agentCaPem: agentCa.certPem,
      agent,
      agentCertSha256: certSha256(agent.certPem),
      files: {
        consoleCa: files.consoleCa,
        consoleClientCert: files.consoleClientCert,
        consoleClientKey: files.consoleClientKey,
        agentCa: files.agentCa,
        agentCert: files.agentCert,
        agentKey: files.agentKey,
      },
    };
  });
}

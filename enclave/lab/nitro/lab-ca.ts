import "reflect-metadata";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { withDirLock } from "../../shared/dir-lock";

/**
 * Lab stand-in for the AWS Nitro Enclaves PKI: a chain shaped like AWS's (research notes §1.3) so that the console's
 * verifier exercises the same code paths as with real documents, but anchored on a lab root that the console must
 * trust explicitly (never the AWS root).
 *
 *   root      CN=lab.nitro-enclaves                                   ~30 y  CA, no pathLen   certSign+cRLSign+digSig (critical)
 *   regional  CN=<16hex>.<region>.lab.nitro-enclaves                   20 d  CA, pathLen 2    same
 *   zonal     CN=<16hex>.zonal.<region>.lab.nitro-enclaves              6 d  CA, pathLen 1    same
 *   instance  CN=<instance id>.<region>.lab.nitro-enclaves               1 d  CA, pathLen 0    certSign (critical)
 *   leaf      CN=<instance id>-enc<16hex>.<region>.lab                  3 h  CA:FALSE         digSig+nonRepudiation
 *
 * Everything is P-384 / ecdsa-with-SHA384. The root is created once and persisted; intermediates are persisted too
 * and re-issued when they expire (or would expire before a fresh leaf does). Leaves are never persisted: a leaf and
 * its key live in the memory of one simulated enclave, as on real hardware.
 *
 * Several simulated enclaves (separate processes) share one CA folder, so every write happens under a lock
 * directory and each file is replaced atomically (write temp + rename).
 */

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Certificates start a little in the past, as AWS's do (a few seconds), so clock skew does not make them "not yet valid". */
const BACKDATE_MS = 5_000;
export const ROOT_LIFETIME_MS = 30 * 365 * DAY;
export const REGIONAL_LIFETIME_MS = 20 * DAY;
export const ZONAL_LIFETIME_MS = 6 * DAY;
export const INSTANCE_LIFETIME_MS = DAY;
export const LEAF_LIFETIME_MS = 3 * HOUR;

const EC_ALG = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIGNING_ALG = { name: "ECDSA", hash: "SHA-384" } as const;
const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;
const NAME_SUFFIX = "O=Acra Nitro Lab, OU=Lab Nitro Enclaves, C=US";

/** A CA certificate with its private key (PKCS#8, kept in memory; on disk only inside the 0600 file). */
export interface CaCredential {
  certDer: Buffer;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

/** The chain for one parent instance, root first (the order of `cabundle`). */
export interface InstanceChain {
  region: string;
  parentInstanceId: string;
  root: CaCredential;
  regional: CaCredential;
  zonal: CaCredential;
  instance: CaCredential;
  /** DER certificates root first: [root, regional, zonal, instance]. */
  cabundle: Buffer[];
}

export interface LeafCredential {
  certDer: Buffer;
  /** ECDSA P-384 private key of the leaf; signs attestation documents (ES384). */
  privateKey: crypto.KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** `<parent instance id>-enc<16 hex>`: the module_id of documents signed by this leaf. */
  moduleId: string;
}

export interface LabCa {
  dir: string;
  rootPem: string;
  rootDer: Buffer;
  /** SHA-256 of the root DER, lower-case hex (what a console pins). */
  rootSha256: string;
  /** Loads (creating or renewing as needed) regional -> zonal -> instance for this parent instance. */
  instanceChain(region: string, parentInstanceId: string): Promise<InstanceChain>;
}

export interface LabCaOptions {
  /** Clock, injectable for renewal tests. */
  now?: () => Date;
}

// ---------------------------------------------------------------------------------------------------------------------

const fileFor = (dir: string, name: string) => path.join(dir, `${name}.pem`);
const safeLabel = (s: string) => {
  if (!/^[A-Za-z0-9._-]+$/.test(s)) throw new Error(`unsafe name for a CA file: ${JSON.stringify(s)}`);
  return s;
};

function randomHex16(): string {
  return crypto.randomBytes(8).toString("hex");
}

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.webcrypto.subtle.generateKey(EC_ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = crypto.createPrivateKey(keyPem).export({ format: "der", type: "pkcs8" });
  return (await crypto.webcrypto.subtle.importKey("pkcs8", der, EC_ALG, false, ["sign"])) as CryptoKey;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.webcrypto.subtle.exportKey("pkcs8", key));
  return toPem(der, "PRIVATE KEY");
}

/** Positive 16-byte serial (the top bit cleared so the DER INTEGER stays positive). */
function serialHex(): string {
  const b = crypto.randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

async function caExtensions(
  publicKey: CryptoKey,
  issuerPublicKey: CryptoKey | null,
  pathLength: number | undefined,
  usages: x509.KeyUsageFlags,
  withKeyIds: boolean,
): Promise<x509.Extension[]> {
  const ext: x509.Extension[] = [new x509.BasicConstraintsExtension(true, pathLength, true)];
  if (withKeyIds) {
    if (issuerPublicKey) ext.push(await x509.AuthorityKeyIdentifierExtension.create(issuerPublicKey, false));
    ext.push(await x509.SubjectKeyIdentifierExtension.create(publicKey, false));
  }
  ext.push(new x509.KeyUsagesExtension(usages, true));
  return ext;
}

function credentialFrom(cert: x509.X509Certificate, keyPem: string): CaCredential {
  const certDer = Buffer.from(cert.rawData);
  return { certDer, certPem: toPem(certDer, "CERTIFICATE"), keyPem, notAfter: cert.notAfter };
}

/** File format: the private key PEM followed by the certificate PEM; mode 0600 because it holds the key. */
function serialize(c: CaCredential): string {
  return c.keyPem + c.certPem;
}

function parse(text: string): CaCredential {
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(text)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  if (!key || !cert) throw new Error("CA file lacks a key or a certificate");
  const parsed = new crypto.X509Certificate(cert);
  return { certDer: parsed.raw, certPem: cert.endsWith("\n") ? cert : `${cert}\n`, keyPem: key, notAfter: new Date(parsed.validTo) };
}

async function readCredential(file: string): Promise<CaCredential | null> {
  try {
    return parse(await fs.readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomHex16()}.tmp`;
  const fh = await fs.open(tmp, "wx", mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}


/** True when `child` is signed by `parent`'s key and names it as issuer. */
function issuedBy(child: CaCredential, parent: CaCredential): boolean {
  const c = new crypto.X509Certificate(child.certDer);
  const p = new crypto.X509Certificate(parent.certDer);
  return c.checkIssued(p) && c.verify(p.publicKey);
}

// ---------------------------------------------------------------------------------------------------------------------

async function createRoot(now: Date): Promise<CaCredential> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name: `CN=lab.nitro-enclaves, ${NAME_SUFFIX}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + ROOT_LIFETIME_MS),
    signingAlgorithm: SIGNING_ALG,
    keys,
    extensions: await caExtensions(keys.publicKey, null, undefined, CA_USAGES, true),
  });
  return credentialFrom(cert, await exportKeyPem(keys.privateKey));
}

async function issueCa(
  parent: CaCredential,
  subject: string,
  lifetimeMs: number,
  pathLength: number,
  usages: x509.KeyUsageFlags,
  withKeyIds: boolean,
  now: Date,
): Promise<CaCredential> {
  const keys = await generateKeyPair();
  const parentCert = new x509.X509Certificate(new Uint8Array(parent.certDer));
  const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, parentCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject,
    issuer: parentCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: SIGNING_ALG,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(parent.keyPem),
    extensions: await caExtensions(keys.publicKey, await parentCert.publicKey.export(), pathLength, usages, withKeyIds),
  });
  return credentialFrom(cert, await exportKeyPem(keys.privateKey));
}

/**
 * A persisted CA is reused while it is issued by the current parent and still valid for at least `minRemainingMs`
 * (so that everything issued below it fits inside its validity, as in AWS's chains).
 */
async function loadOrIssue(
  file: string,
  parent: CaCredential,
  minRemainingMs: number,
  now: Date,
  issue: () => Promise<CaCredential>,
): Promise<CaCredential> {
  const existing = await readCredential(file);
  if (existing && existing.notAfter.getTime() - now.getTime() > minRemainingMs && issuedBy(existing, parent)) return existing;
  const fresh = await issue();
  await writeAtomic(file, serialize(fresh), 0o600);
  return fresh;
}

/**
 * Creates the lab CA in `dir` on first use and reuses it afterwards. Files (all 0600 except root.crt.pem):
 *   root.pem, root.crt.pem (certificate only, for the console's trust store), regional-<region>.pem,
 *   zonal-<region>.pem, instance-<instance id>.pem.
 */
export async function ensureLabCa(dir: string, options: LabCaOptions = {}): Promise<LabCa> {
  const now = options.now ?? (() => new Date());
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const rootFile = fileFor(dir, "root");
  let root = await readCredential(rootFile);
  if (!root) {
    root = await withDirLock(dir, async () => {
      const again = await readCredential(rootFile);
      if (again) return again;
      const created = await createRoot(now());
      await writeAtomic(rootFile, serialize(created), 0o600);
      await writeAtomic(path.join(dir, "root.crt.pem"), created.certPem, 0o644);
      return created;
    });
  }
  const theRoot = root;

  async function instanceChain(region: string, parentInstanceId: string): Promise<InstanceChain> {
    safeLabel(region);
    safeLabel(parentInstanceId);
    return withDirLock(dir, async () => {
      const t = now();
      // Each level must outlive the one below it plus a leaf, otherwise a leaf could outlive its issuer.
      const regional = await loadOrIssue(fileFor(dir, `regional-${region}`), theRoot, ZONAL_LIFETIME_MS + DAY, t, () =>
        issueCa(theRoot, `CN=${randomHex16()}.${region}.lab.nitro-enclaves, ${NAME_SUFFIX}`, REGIONAL_LIFETIME_MS, 2, CA_USAGES, true, t),
      );
      const zonal = await loadOrIssue(fileFor(dir, `zonal-${region}`), regional, INSTANCE_LIFETIME_MS + LEAF_LIFETIME_MS, t, () =>
        issueCa(regional, `CN=${randomHex16()}.zonal.${region}.lab.nitro-enclaves, ${NAME_SUFFIX}`, ZONAL_LIFETIME_MS, 1, CA_USAGES, true, t),
      );
      const instance = await loadOrIssue(fileFor(dir, `instance-${parentInstanceId}`), zonal, LEAF_LIFETIME_MS, t, () =>
        issueCa(
          zonal,
          `CN=${parentInstanceId}.${region}.lab.nitro-enclaves, ${NAME_SUFFIX}`,
          INSTANCE_LIFETIME_MS,
          0,
          x509.KeyUsageFlags.keyCertSign,
          false,
          t,
        ),
      );
      return {
        region,
        parentInstanceId,
        root: theRoot,
        regional,
        zonal,
        instance,
        cabundle: [theRoot.certDer, regional.certDer, zonal.certDer, instance.certDer],
      };
    });
  }

  return {
    dir,
    rootPem: theRoot.certPem,
    rootDer: theRoot.certDer,
    rootSha256: crypto.createHash("sha256").update(theRoot.certDer).digest("hex"),
    instanceChain,
  };
}

/**
 * `module_id` of an enclave. nitro-cli's EnclaveID already has the form `i-…-enc<16 hex>` and is used as is; a bare
 * 16-hex id is prefixed with the parent instance id; anything else is hashed into 16 hex so the shape stays AWS's.
 */
export function moduleIdFor(parentInstanceId: string, enclaveId: string): string {
  if (/^i-[0-9a-f]+-enc[0-9a-f]{16}$/.test(enclaveId)) return enclaveId;
  if (/^[0-9a-f]{16}$/.test(enclaveId)) return `${parentInstanceId}-enc${enclaveId}`;
  return `${parentInstanceId}-enc${crypto.createHash("sha256").update(enclaveId).digest("hex").slice(0, 16)}`;
}

/**
 * Issues a 3-hour leaf under the instance CA (never longer than the instance CA itself). The private key stays in
 * memory; the caller (the simulated NSM) signs documents with it until shortly before `notAfter`.
 */
export async function issueLeaf(instance: InstanceChain, enclaveId: string, now: Date = new Date()): Promise<LeafCredential> {
  const moduleId = moduleIdFor(instance.parentInstanceId, enclaveId);
  const keys = await generateKeyPair();
  const issuerCert = new x509.X509Certificate(new Uint8Array(instance.instance.certDer));
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.min(now.getTime() + LEAF_LIFETIME_MS, issuerCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: `CN=${moduleId}.${instance.region}.lab, ${NAME_SUFFIX}`,
    issuer: issuerCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALG,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(instance.instance.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, false),
    ],
  });
  const privateKey = crypto.createPrivateKey(await exportKeyPem(keys.privateKey));
  return { certDer: Buffer.from(cert.rawData), privateKey, notBefore: cert.notBefore, notAfter: cert.notAfter, moduleId };
}

import crypto from "node:crypto";

/**
 * Key material the host keeps for the enclave, and the replay protection around it (pure, no I/O).
 *
 * - Master key blob: KMS ciphertext of Acra's 32-byte master key, encrypted under the fleet's KMS key with the
 *   encryption context {"purpose":"acra-master-key","keystore_version":"<n>"}. KMS authenticates the context, so
 *   the version the host claims for this blob is only believed if Decrypt succeeds with it.
 * - Keystore blob: Acra's keystore files, sealed with AES-256-GCM under a key derived from the master key
 *   (HKDF-SHA256, separate from Acra's own use of the key). The keystore version is in the header and in the AAD,
 *   so the host cannot relabel an old keystore as new.
 *
 *   "AKS1" | version u32 BE | iv (12) | tag (16) | ciphertext(JSON {"format":"acra-keystore-files/v1","files":{path: base64}})
 *
 * The supervisor refuses a keystore whose version is below the version bound into the master key's encryption
 * context: a host that hands the current master key with an older keystore (say, before a client key was
 * revoked) is detected. Replaying an old *pair* is stopped by KMS: the key policy pins
 * `kms:EncryptionContext:keystore_version` to the current version (see enclave/supervisor/README.md).
 */

export const MASTER_KEY_PURPOSE = "acra-master-key";
export const MASTER_KEY_BYTES = 32;
const MAGIC = Buffer.from("AKS1");
const HKDF_INFO = Buffer.from("acra-nitro keystore seal v1");
const FORMAT = "acra-keystore-files/v1";

/** The KMS encryption context binding a master key blob to a keystore version. */
export function masterKeyEncryptionContext(keystoreVersion: number): Record<string, string> {
  if (!Number.isSafeInteger(keystoreVersion) || keystoreVersion < 0) throw new RangeError("keystore version must be a non-negative integer");
  return { purpose: MASTER_KEY_PURPOSE, keystore_version: String(keystoreVersion) };
}

function sealKey(masterKey: Buffer): Buffer {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
  return Buffer.from(crypto.hkdfSync("sha256", masterKey, Buffer.alloc(0), HKDF_INFO, 32));
}

function header(version: number): Buffer {
  const h = Buffer.alloc(8);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(version, 4);
  return h;
}

/** Keystore files: relative path -> content. */
export type KeystoreFiles = Record<string, Buffer>;

export function sealKeystore(masterKey: Buffer, version: number, files: KeystoreFiles): Buffer {
  if (!Number.isSafeInteger(version) || version < 0 || version > 0xffffffff) throw new RangeError("keystore version out of range");
  for (const p of Object.keys(files)) assertSafeRelativePath(p);
  const plaintext = Buffer.from(
    JSON.stringify({ format: FORMAT, files: Object.fromEntries(Object.entries(files).map(([p, c]) => [p, c.toString("base64")])) }),
  );
  const head = header(version);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", sealKey(masterKey), iv);
  cipher.setAAD(head);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), ct]);
}

export type KeystoreOpenResult =
  | { ok: true; version: number; files: KeystoreFiles }
  | { ok: false; reason: "malformed" | "unauthenticated" | "label-mismatch"; detail: string };

/**
 * Opens a sealed keystore. `claimedVersion` is the host's label next to the blob; it must agree with the sealed
 * version (a mismatch means someone relabelled the blob).
 */
export function openKeystore(masterKey: Buffer, blob: Buffer, claimedVersion: number): KeystoreOpenResult {
  if (blob.length < 8 + 12 + 16 || !blob.subarray(0, 4).equals(MAGIC)) return { ok: false, reason: "malformed", detail: "not a sealed keystore (AKS1)" };
  const version = blob.readUInt32BE(4);
  let plaintext: Buffer;
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", sealKey(masterKey), blob.subarray(8, 20));
    decipher.setAAD(blob.subarray(0, 8));
    decipher.setAuthTag(blob.subarray(20, 36));
    plaintext = Buffer.concat([decipher.update(blob.subarray(36)), decipher.final()]);
  } catch {
    return { ok: false, reason: "unauthenticated", detail: "keystore does not authenticate under this master key" };
  }
  if (version !== claimedVersion) {
    return { ok: false, reason: "label-mismatch", detail: `host labels the keystore v${claimedVersion} but it is sealed as v${version}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed", detail: "keystore content is not JSON" };
  }
  const p = parsed as { format?: unknown; files?: unknown };
  if (p.format !== FORMAT || typeof p.files !== "object" || p.files === null) return { ok: false, reason: "malformed", detail: "unknown keystore format" };
  const files: KeystoreFiles = {};
  for (const [name, content] of Object.entries(p.files as Record<string, unknown>)) {
    if (typeof content !== "string") return { ok: false, reason: "malformed", detail: `file ${name} is not base64` };
    try {
      assertSafeRelativePath(name);
    } catch (err) {
      return { ok: false, reason: "malformed", detail: (err as Error).message };
    }
    files[name] = Buffer.from(content, "base64");
  }
  return { ok: true, version, files };
}

export type VersionVerdict = { ok: true; newer: boolean } | { ok: false; detail: string };

/** Replay check: the keystore must not be older than the version KMS authenticated for the master key. */
export function checkKeystoreVersion(boundVersion: number, keystoreVersion: number): VersionVerdict {
  if (keystoreVersion < boundVersion) {
    return {
      ok: false,
      detail: `keystore v${keystoreVersion} is older than v${boundVersion} bound in the master key's KMS encryption context (replayed keystore?)`,
    };
  }
  return { ok: true, newer: keystoreVersion > boundVersion };
}

/** Keystore paths are relative, normalised, without `..`: a sealed blob must not write outside the keys folder. */
export function assertSafeRelativePath(p: string): void {
  if (p.length === 0 || p.startsWith("/") || p.includes("\\") || p.includes("\0") || p.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(`unsafe keystore path ${JSON.stringify(p)}`);
  }
}

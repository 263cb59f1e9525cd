/**
 * The emulator's KMS ciphertext formats (pure, node:crypto only).
 *
 * Ciphertext blob ("LKMS" v1): AES-256-GCM under one version of the key's backing material. The header names the
 * key id and the material id, so Decrypt needs no KeyId and still works after rotation (as in AWS, where the
 * blob carries the key ARN and backing-key reference). The header and the canonical encryption context are the
 * AAD: a changed context, key id or material id fails authentication.
 *
 *   "LKMS" | 0x01 | keyIdLen u8 | keyId (ASCII) | materialId (32 bytes) | iv (12) | tag (16) | ciphertext
 *
 * Recipient envelope ("LRCP" v1), returned as CiphertextForRecipient: a fresh AES-256-GCM key wrapped with
 * RSAES-OAEP-SHA-256 to the public key from the attestation document. AWS returns CMS EnvelopedData here
 * (RSAES-OAEP + AES-256-CBC); the README lists this difference.
 *
 *   "LRCP" | 0x01 | wrappedKeyLen u16 BE | wrappedKey | iv (12) | tag (16) | ciphertext
 */
import crypto from "node:crypto";

const BLOB_MAGIC = Buffer.from("LKMS");
const RECIPIENT_MAGIC = Buffer.from("LRCP");

export interface BlobHeader {
  keyId: string;
  materialId: string;
}

/** Sorted-key JSON of the encryption context: the same pairs in any order bind the same ciphertext. */
export function canonicalContext(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries));
}

function blobHeader(keyId: string, materialId: string): Buffer {
  const id = Buffer.from(keyId, "ascii");
  return Buffer.concat([BLOB_MAGIC, Buffer.from([1, id.length]), id, Buffer.from(materialId, "hex")]);
}

export function sealBlob(
  plaintext: Buffer,
  header: BlobHeader,
  material: Buffer,
  context: Record<string, string> | undefined,
): Buffer {
  const head = blobHeader(header.keyId, header.materialId);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", material, iv);
  cipher.setAAD(Buffer.concat([head, canonicalContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
}

/** Reads the header without decrypting; undefined when the bytes are not an emulator blob. */
export function readBlobHeader(blob: Buffer): (BlobHeader & { headerLength: number }) | undefined {
  if (blob.length < 6 || !blob.subarray(0, 4).equals(BLOB_MAGIC) || blob[4] !== 1) return undefined;
  const idLength = blob[5] ?? 0;
  const headerLength = 6 + idLength + 32;
  if (blob.length < headerLength + 28) return undefined;
  return {
    keyId: blob.subarray(6, 6 + idLength).toString("ascii"),
    materialId: blob.subarray(6 + idLength, headerLength).toString("hex"),
    headerLength,
  };
}

/** The plaintext, or undefined when authentication fails (wrong context, tampering, wrong material). */
export function openBlob(blob: Buffer, material: Buffer, context: Record<string, string> | undefined): Buffer | undefined {
  const header = readBlobHeader(blob);
  if (!header) return undefined;
  const head = blob.subarray(0, header.headerLength);
  const iv = blob.subarray(header.headerLength, header.headerLength + 12);
  const tag = blob.subarray(header.headerLength + 12, header.headerLength + 28);
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", material, iv);
    decipher.setAAD(Buffer.concat([head, canonicalContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(header.headerLength + 28)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Encrypts `plaintext` to the RSA public key (DER SPKI) taken from an attestation document. */
export function sealForRecipient(plaintext: Buffer, publicKeyDer: Buffer): Buffer {
  const publicKey = crypto.createPublicKey({ key: publicKeyDer, format: "der", type: "spki" });
  const contentKey = crypto.randomBytes(32);
  const wrapped = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, contentKey);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", contentKey, iv);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  const head = Buffer.concat([RECIPIENT_MAGIC, Buffer.from([1]), length, wrapped]);
  cipher.setAAD(head);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
}

/**
 * Opens a CiphertextForRecipient from the emulator with the enclave's private key. For lab simulators (the
 * simulated Odyn KMS proxy) and tests; throws on anything that is not an intact envelope for this key.
 */
export function openCiphertextForRecipient(envelope: Uint8Array, privateKey: crypto.KeyObject | string): Buffer {
  const buf = Buffer.from(envelope);
  if (buf.length < 7 || !buf.subarray(0, 4).equals(RECIPIENT_MAGIC) || buf[4] !== 1) {
    throw new Error("not an emulator CiphertextForRecipient envelope");
  }
  const wrappedLength = buf.readUInt16BE(5);
  const headLength = 7 + wrappedLength;
  if (buf.length < headLength + 28) throw new Error("truncated CiphertextForRecipient envelope");
  const contentKey = crypto.privateDecrypt(
    { key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    buf.subarray(7, headLength),
  );
  const decipher = crypto.createDecipheriv("aes-256-gcm", contentKey, buf.subarray(headLength, headLength + 12));
  decipher.setAAD(buf.subarray(0, headLength));
  decipher.setAuthTag(buf.subarray(headLength + 12, headLength + 28));
  return Buffer.concat([decipher.update(buf.subarray(headLength + 28)), decipher.final()]);
}

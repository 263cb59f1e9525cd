import crypto from "node:crypto";
import { EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { masterKeyEncryptionContext, MASTER_KEY_BYTES, sealKeystore, type KeystoreFiles } from "./keystore-blob";

/** What the host agent stores and serves at GET <hostKeyStoreUrl>/master-key and /keystore. */
export interface HostKeyBlob {
  ciphertextBase64: string;
  version: number;
}

/**
 * Key ceremony (admin side, outside the enclave): encrypts a master key under the fleet's KMS key bound to
 * `keystoreVersion`, and seals the keystore with it. Used by the lab to provision enclaves and by tests; in
 * production the same ceremony runs once on an air-gapped admin machine, or inside an enclave for rotations.
 * The plaintext master key is zeroed before returning unless the caller supplied it (then it stays theirs).
 */
export async function provisionKeyMaterial(input: {
  kms: KMSClient;
  keyId: string;
  keystoreVersion: number;
  keystoreFiles?: KeystoreFiles;
  masterKey?: Buffer;
}): Promise<{ masterKey: HostKeyBlob; keystore: HostKeyBlob }> {
  const masterKey = input.masterKey ?? crypto.randomBytes(MASTER_KEY_BYTES);
  try {
    const out = await input.kms.send(
      new EncryptCommand({
        KeyId: input.keyId,
        Plaintext: masterKey,
        EncryptionContext: masterKeyEncryptionContext(input.keystoreVersion),
      }),
    );
    if (!out.CiphertextBlob) throw new Error("KMS Encrypt returned no ciphertext");
    return {
      masterKey: { ciphertextBase64: Buffer.from(out.CiphertextBlob).toString("base64"), version: input.keystoreVersion },
      keystore: {
        ciphertextBase64: sealKeystore(masterKey, input.keystoreVersion, input.keystoreFiles ?? {}).toString("base64"),
        version: input.keystoreVersion,
      },
    };
  } finally {
    if (!input.masterKey) masterKey.fill(0);
  }
}

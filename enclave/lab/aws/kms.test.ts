import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  DisableKeyCommand,
  EnableKeyCommand,
} from "@aws-sdk/client-kms";
import { labAwsClientConfig, LAB_CREDENTIALS, type LabPrincipalName } from "./principals";
import { openCiphertextForRecipient } from "./kms-crypto";
import { ACCOUNT, REGION, createLabCa, pcrHex, signAttestationDocument, startEmulator, type LabCa } from "./test-support";
import type { AwsEmulator } from "./emulator";

const APPROVED = { 0: pcrHex("image-v1"), 1: pcrHex("kernel"), 2: pcrHex("app-v1"), 3: pcrHex("role"), 4: pcrHex("instance"), 8: pcrHex("signer") };
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/acra-enclave-role`;

/** The lab's intended policy: IAM manages the key, only an attested enclave image may decrypt. */
function enclavePolicy(pcr0: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Key administration through IAM",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:Disable*", "kms:List*", "kms:Put*", "kms:Get*", "kms:Rotate*", "kms:Encrypt"],
        Resource: "*",
      },
      {
        Sid: "Enable enclave data processing",
        Effect: "Allow",
        Principal: { AWS: ROLE_ARN },
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: "*",
        Condition: {
          StringEqualsIgnoreCase: { "kms:RecipientAttestation:ImageSha384": pcr0, "kms:RecipientAttestation:PCR0": pcr0.toUpperCase() },
        },
      },
    ],
  });
}

let emulator: AwsEmulator;
let ca: LabCa;
let now = Date.now();
const client = (who: LabPrincipalName, region = REGION) => new KMSClient({ ...labAwsClientConfig(emulator.endpoint, region, who), maxAttempts: 1 });

beforeAll(async () => {
  ca = await createLabCa();
  ({ emulator } = await startEmulator({ ca, clock: () => now }));
});
afterAll(async () => {
  await emulator.close();
});

describe("SigV4 and identities", () => {
  it("refuses a request signed with the wrong secret with InvalidSignatureException", async () => {
    const kms = new KMSClient({
      endpoint: emulator.endpoint,
      region: REGION,
      credentials: { accessKeyId: LAB_CREDENTIALS.admin.accessKeyId, secretAccessKey: "not-the-secret" },
      maxAttempts: 1,
    });
    const error = await kms.send(new ListKeysCommand({})).catch((e: unknown) => e as Error & { $metadata: { httpStatusCode: number } });
    expect(error).toMatchObject({ name: "InvalidSignatureException" });
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
    expect(emulator.state.counters.authFailures).toBeGreaterThan(0);
  });

  it("refuses an unknown access key with UnrecognizedClientException", async () => {
    const kms = new KMSClient({ endpoint: emulator.endpoint, region: REGION, credentials: { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" }, maxAttempts: 1 });
    await expect(kms.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: "UnrecognizedClientException" });
  });

  it("refuses a signature outside the 15 minute window", async () => {
    const kms = new KMSClient({ ...labAwsClientConfig(emulator.endpoint, REGION, "admin"), maxAttempts: 1, systemClockOffset: -20 * 60_000 });
    await expect(kms.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: "InvalidSignatureException", message: expect.stringContaining("Signature expired") });
  });

  it("refuses a region the lab does not serve", async () => {
    await expect(client("admin", "ap-south-2").send(new ListKeysCommand({}))).rejects.toMatchObject({ name: "UnrecognizedClientException" });
  });
});

describe("keys, aliases and symmetric crypto", () => {
  it("encrypts and decrypts with the encryption context bound, across rotation", async () => {
    const admin = client("admin");
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Description: "acra master key" }));
    expect(KeyMetadata).toMatchObject({ KeyState: "Enabled", KeySpec: "SYMMETRIC_DEFAULT", AWSAccountId: ACCOUNT });
    expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    const keyId = KeyMetadata?.KeyId ?? "";
    await admin.send(new CreateAliasCommand({ AliasName: "alias/acra_master_key", TargetKeyId: keyId }));
    await expect(admin.send(new CreateAliasCommand({ AliasName: "alias/acra_master_key", TargetKeyId: keyId }))).rejects.toMatchObject({
      name: "AlreadyExistsException",
    });

    const context = { keystore: "v3", host: "h1" };
    const sealed = await admin.send(new EncryptCommand({ KeyId: "alias/acra_master_key", Plaintext: Buffer.from("master key bytes"), EncryptionContext: context }));
    expect(sealed.KeyId).toBe(KeyMetadata?.Arn);

    const opened = await admin.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { host: "h1", keystore: "v3" } }));
    expect(Buffer.from(opened.Plaintext ?? []).toString()).toBe("master key bytes");

    await expect(admin.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { keystore: "v2", host: "h1" } }))).rejects.toMatchObject({
      name: "InvalidCiphertextException",
    });
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }))).rejects.toMatchObject({ name: "InvalidCiphertextException" });
    const tampered = Buffer.from(sealed.CiphertextBlob ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context }))).rejects.toMatchObject({ name: "InvalidCiphertextException" });

    await admin.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const afterRotation = await admin.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(afterRotation.Plaintext ?? []).toString()).toBe("master key bytes");
    const fresh = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }));
    const freshOpened = await admin.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }));
    expect(freshOpened.KeyMaterialId).not.toBe(afterRotation.KeyMaterialId);

    const rotations = await admin.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    expect(rotations.Rotations).toHaveLength(1);
    expect(rotations.Rotations?.[0]).toMatchObject({ RotationType: "ON_DEMAND", KeyMaterialState: "CURRENT" });

    const aliases = await admin.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(["alias/acra_master_key"]);
  });

  it("validates inputs as KMS does", async () => {
    const admin = client("admin");
    await expect(admin.send(new DescribeKeyCommand({ KeyId: "alias/missing" }))).rejects.toMatchObject({ name: "NotFoundException" });
    await expect(admin.send(new DescribeKeyCommand({ KeyId: "00000000-0000-0000-0000-000000000000" }))).rejects.toMatchObject({ name: "NotFoundException" });
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    await expect(admin.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata?.KeyId }))).rejects.toMatchObject({ name: "ValidationException" });
    await expect(admin.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata?.KeyId, RotationPeriodInDays: 30 }))).rejects.toMatchObject({ name: "ValidationException" });
    await expect(admin.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata?.KeyId, Policy: "{not json" }))).rejects.toMatchObject({ name: "MalformedPolicyDocumentException" });
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: Buffer.from("garbage-bytes") }))).rejects.toMatchObject({ name: "InvalidCiphertextException" });
    await admin.send(new DisableKeyCommand({ KeyId: KeyMetadata?.KeyId }));
    await expect(admin.send(new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from("x") }))).rejects.toMatchObject({ name: "DisabledException" });
    await expect(admin.send(new RotateKeyOnDemandCommand({ KeyId: KeyMetadata?.KeyId }))).rejects.toMatchObject({ name: "KMSInvalidStateException" });
    await admin.send(new EnableKeyCommand({ KeyId: KeyMetadata?.KeyId }));
  });

  it("rotates automatically when the period has passed on the emulator clock", async () => {
    const admin = client("admin");
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    await admin.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata?.KeyId, RotationPeriodInDays: 90 }));
    const status = await admin.send(new GetKeyRotationStatusCommand({ KeyId: KeyMetadata?.KeyId }));
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    expect(status.NextRotationDate?.getTime()).toBeGreaterThan(now + 89 * 86_400_000);
    const saved = now;
    try {
      now += 91 * 86_400_000;
      const rotations = await admin.send(new ListKeyRotationsCommand({ KeyId: KeyMetadata?.KeyId }));
      expect(rotations.Rotations?.map((r) => r.RotationType)).toEqual(["AUTOMATIC"]);
    } finally {
      now = saved;
    }
  });

  it("lists keys with Limit/Marker paging", async () => {
    const admin = client("admin");
    const all = await admin.send(new ListKeysCommand({}));
    const first = await admin.send(new ListKeysCommand({ Limit: 2 }));
    expect(first.Truncated).toBe(true);
    const second = await admin.send(new ListKeysCommand({ Limit: 100, Marker: first.NextMarker }));
    expect([...(first.Keys ?? []), ...(second.Keys ?? [])].map((k) => k.KeyId)).toEqual(all.Keys?.map((k) => k.KeyId));
  });
});

describe("key policy with Nitro attestation conditions", () => {
  let keyId = "";
  let blob: Uint8Array = new Uint8Array();

  beforeAll(async () => {
    const admin = client("admin");
    const created = await admin.send(new CreateKeyCommand({ Policy: enclavePolicy(APPROVED[0]) }));
    keyId = created.KeyMetadata?.KeyId ?? "";
    blob = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("acra master key") }))).CiphertextBlob ?? blob;
  });

  it("denies the enclave role a Decrypt without an attestation document", async () => {
    await expect(client("enclave").send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining(`assumed-role/acra-enclave-role`),
    });
  });

  it("denies a document whose PCR0 is not the approved image", async () => {
    const { document } = signAttestationDocument(ca, { ...APPROVED, 0: pcrHex("image-v2-unapproved") });
    await expect(
      client("enclave").send(new DecryptCommand({ CiphertextBlob: blob, Recipient: { KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256", AttestationDocument: document } })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
  });

  it("refuses a document that does not verify", async () => {
    const { document } = signAttestationDocument(ca, APPROVED);
    document[document.length - 5] = (document[document.length - 5] ?? 0) ^ 0xff;
    await expect(
      client("enclave").send(new DecryptCommand({ CiphertextBlob: blob, Recipient: { KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256", AttestationDocument: document } })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("allows the approved image and returns only CiphertextForRecipient", async () => {
    const { document, privateKey } = signAttestationDocument(ca, APPROVED);
    const out = await client("enclave").send(
      new DecryptCommand({ CiphertextBlob: blob, Recipient: { KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256", AttestationDocument: document } }),
    );
    expect(out.Plaintext).toBeUndefined();
    expect(openCiphertextForRecipient(out.CiphertextForRecipient ?? new Uint8Array(), privateKey).toString()).toBe("acra master key");
  });

  it("GenerateDataKey and GenerateRandom with a Recipient return data only for the enclave's key", async () => {
    const { document, privateKey } = signAttestationDocument(ca, APPROVED);
    const recipient = { KeyEncryptionAlgorithm: "RSAES_OAEP_SHA_256" as const, AttestationDocument: document };
    const dataKey = await client("enclave").send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", Recipient: recipient }));
    expect(dataKey.Plaintext).toBeUndefined();
    const plain = openCiphertextForRecipient(dataKey.CiphertextForRecipient ?? new Uint8Array(), privateKey);
    expect(plain).toHaveLength(32);
    const back = await client("admin").send(new EncryptCommand({ KeyId: keyId, Plaintext: plain }));
    expect(back.CiphertextBlob).toBeDefined();
    const random = await client("enclave").send(new GenerateRandomCommand({ NumberOfBytes: 48, Recipient: recipient }));
    expect(random.Plaintext).toBeUndefined();
    expect(openCiphertextForRecipient(random.CiphertextForRecipient ?? new Uint8Array(), privateKey)).toHaveLength(48);
  });

  it("denies the rogue principal even though its IAM policy allows kms:Decrypt", async () => {
    await expect(client("rogue").send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toMatchObject({ name: "AccessDeniedException" });
  });

  it("lets the rogue principal decrypt a key whose policy delegates everything to IAM (the misconfiguration)", async () => {
    const admin = client("admin");
    const loose = await admin.send(new CreateKeyCommand({}));
    const sealed = await admin.send(new EncryptCommand({ KeyId: loose.KeyMetadata?.KeyId, Plaintext: Buffer.from("exposed") }));
    const out = await client("rogue").send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    expect(Buffer.from(out.Plaintext ?? []).toString()).toBe("exposed");
  });

  it("lets the console read the policy but not use the key", async () => {
    const policy = await client("console").send(new GetKeyPolicyCommand({ KeyId: keyId }));
    expect(JSON.parse(policy.Policy ?? "{}").Statement).toHaveLength(2);
    await expect(client("console").send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }))).rejects.toMatchObject({ name: "AccessDeniedException" });
  });

  it("honours an explicit Deny on the encryption context", async () => {
    const admin = client("admin");
    const policy = JSON.parse(enclavePolicy(APPROVED[0])) as { Statement: unknown[] };
    policy.Statement.push({
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: { StringEquals: { "kms:EncryptionContext:keystore": "v1-revoked" } },
    });
    policy.Statement.push({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:Decrypt", Resource: "*" });
    const key = await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    const revoked = await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from("old"), EncryptionContext: { keystore: "v1-revoked" } }));
    const current = await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from("new"), EncryptionContext: { keystore: "v2" } }));
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: revoked.CiphertextBlob, EncryptionContext: { keystore: "v1-revoked" } }))).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining("explicit deny"),
    });
    const ok = await admin.send(new DecryptCommand({ CiphertextBlob: current.CiphertextBlob, EncryptionContext: { keystore: "v2" } }));
    expect(Buffer.from(ok.Plaintext ?? []).toString()).toBe("new");
  });
});

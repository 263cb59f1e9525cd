/**
 * Emulated KMS (TrentService) for symmetric keys: key lifecycle, aliases, key policies with Nitro attestation
 * conditions, Encrypt/Decrypt/GenerateDataKey/GenerateRandom (with `Recipient`), rotation (automatic and on
 * demand). Every call, failed or not, lands in CloudTrail as AWS records it.
 */
import crypto from "node:crypto";
import { AwsError, validation } from "./errors";
import type { Db } from "./store";
import type { CallContext, JsonObject } from "./context";
import { apiCallEvent, cloudTrailTime, type ApiCallAudit, type CloudTrail } from "./cloudtrail";
import { authorizeKeyAction, defaultKeyPolicy, identityAllows, validateKeyPolicy } from "./key-policy";
import { openBlob, readBlobHeader, sealBlob, sealForRecipient } from "./kms-crypto";

export type AttestationVerdict =
  | { ok: true; pcrs: Record<number, string>; publicKey: Buffer; moduleId: string }
  | { ok: false; reason: string };

/** Verifies a Nitro attestation document (the lab wires lib/attestation with the lab root). */
export type AttestationVerifier = (document: Uint8Array) => AttestationVerdict | Promise<AttestationVerdict>;

interface KeyMaterial {
  id: string;
  key: string;
  createdMs: number;
  rotationType?: "AUTOMATIC" | "ON_DEMAND";
}

interface KmsKey {
  keyId: string;
  arn: string;
  region: string;
  accountId: string;
  createdMs: number;
  description: string;
  enabled: boolean;
  policy: string;
  rotation: { enabled: boolean; periodDays?: number; nextRotationMs?: number };
  /** Oldest first; the last one encrypts. */
  materials: KeyMaterial[];
  onDemandRotations: number;
}

const DAY_MS = 24 * 3600 * 1000;
const SUPPORTED_OPERATIONS = new Set([
  "CreateKey", "DescribeKey", "ListKeys", "ListAliases", "CreateAlias", "GetKeyPolicy", "PutKeyPolicy", "EnableKey",
  "DisableKey", "GetKeyRotationStatus", "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand",
  "ListKeyRotations", "Encrypt", "Decrypt", "GenerateDataKey", "GenerateRandom",
]);
const MAX_ON_DEMAND_ROTATIONS = 25;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How CloudTrail writes attestation PCR values: the docs show hex, a real capture showed base64. */
export type PcrEncoding = "hex" | "base64";

interface Recipient {
  KeyEncryptionAlgorithm?: string;
  AttestationDocument?: string;
}

interface VerifiedRecipient {
  publicKey: Buffer;
  pcrs: Record<number, string>;
  moduleId: string;
}

const b64 = (buf: Buffer): string => buf.toString("base64");
const epochSeconds = (ms: number): number => ms / 1000;

function decodeBlob(value: unknown, field: string, max: number): Buffer {
  if (typeof value !== "string") throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  const buf = Buffer.from(value, "base64");
  if (buf.length < 1 || buf.length > max) {
    throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length between 1 and ${max}`);
  }
  return buf;
}

function encryptionContext(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Object.values(value).some((v) => typeof v !== "string")) {
    throw validation("EncryptionContext must be a map of strings to strings.");
  }
  return value as Record<string, string>;
}

export class Kms {
  constructor(
    private readonly db: Db,
    private readonly cloudTrail: CloudTrail,
    private readonly verifyAttestation: AttestationVerifier,
    private readonly pcrEncoding: PcrEncoding,
  ) {}

  // ---- storage ---------------------------------------------------------------------------------------------

  private loadKey(region: string, keyId: string): KmsKey | undefined {
    const row = this.db.prepare("SELECT doc FROM kms_keys WHERE region = ? AND key_id = ?").get(region, keyId) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as KmsKey) : undefined;
  }

  private saveKey(key: KmsKey): void {
    this.db
      .prepare("INSERT INTO kms_keys (region, key_id, created_ms, doc) VALUES (?, ?, ?, ?) ON CONFLICT (region, key_id) DO UPDATE SET doc = excluded.doc")
      .run(key.region, key.keyId, key.createdMs, JSON.stringify(key));
  }

  private allKeys(region: string): KmsKey[] {
    const rows = this.db.prepare("SELECT doc FROM kms_keys WHERE region = ? ORDER BY created_ms, key_id").all(region) as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc) as KmsKey);
  }

  /** KeyId as AWS accepts it: key id, key ARN, alias name or alias ARN. */
  private resolveKey(ctx: CallContext, keyIdInput: unknown): KmsKey {
    if (typeof keyIdInput !== "string" || keyIdInput.length === 0) {
      throw validation("1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must not be null");
    }
    let id = keyIdInput;
    const arn = /^arn:aws:kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/.exec(keyIdInput);
    if (arn) {
      if (arn[1] !== ctx.region || arn[2] !== ctx.accountId) throw new AwsError("NotFoundException", `Invalid arn ${keyIdInput}`);
      id = arn[3] === "alias" ? `alias/${arn[4]}` : (arn[4] ?? "");
    }
    if (id.startsWith("alias/")) {
      const alias = this.db.prepare("SELECT target_key_id FROM kms_aliases WHERE region = ? AND alias_name = ?").get(ctx.region, id) as
        | { target_key_id: string }
        | undefined;
      if (!alias) throw new AwsError("NotFoundException", `Alias arn:aws:kms:${ctx.region}:${ctx.accountId}:${id} is not found.`);
      id = alias.target_key_id;
    } else if (!UUID_RE.test(id)) {
      throw new AwsError("NotFoundException", `Invalid keyId '${keyIdInput}'`);
    }
    const key = this.loadKey(ctx.region, id);
    if (!key) throw new AwsError("NotFoundException", `Key 'arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${id}' does not exist`);
    return key;
  }

  // ---- rotation --------------------------------------------------------------------------------------------

  private rotate(key: KmsKey, type: "AUTOMATIC" | "ON_DEMAND", atMs: number): void {
    const previous = key.materials[key.materials.length - 1];
    const material: KeyMaterial = { id: crypto.randomBytes(32).toString("hex"), key: b64(crypto.randomBytes(32)), createdMs: atMs, rotationType: type };
    key.materials.push(material);
    this.saveKey(key);
    // The rotation itself is a service event, separate from the RotateKeyOnDemand call that asked for it.
    this.cloudTrail.append(
      {
        eventVersion: "1.08",
        userIdentity: { accountId: key.accountId, invokedBy: "AWS Internal" },
        eventTime: cloudTrailTime(atMs),
        eventSource: "kms.amazonaws.com",
        eventName: "RotateKey",
        awsRegion: key.region,
        sourceIPAddress: "AWS Internal",
        userAgent: "AWS Internal",
        requestParameters: null,
        responseElements: null,
        eventID: crypto.randomUUID(),
        readOnly: false,
        resources: [{ accountId: key.accountId, type: "AWS::KMS::Key", ARN: key.arn }],
        eventType: "AwsServiceEvent",
        recipientAccountId: key.accountId,
        serviceEventDetails: {
          rotationType: type,
          keyId: key.keyId,
          keyOrigin: "AWS_KMS",
          previousKeyMaterialId: previous?.id,
          currentKeyMaterialId: material.id,
        },
        eventCategory: "Management",
      },
      atMs,
    );
  }

  /** Performs automatic rotations that have come due by the clock (KMS does them in the background). */
  sweepRotations(region: string, nowMs: number): void {
    for (const key of this.allKeys(region)) {
      let guard = 0;
      while (key.rotation.enabled && key.enabled && key.rotation.nextRotationMs !== undefined && key.rotation.nextRotationMs <= nowMs && guard++ < 100) {
        const at = key.rotation.nextRotationMs;
        key.rotation.nextRotationMs = at + (key.rotation.periodDays ?? 365) * DAY_MS;
        this.rotate(key, "AUTOMATIC", at);
      }
    }
  }

  // ---- authorization ---------------------------------------------------------------------------------------

  private authorizeKey(ctx: CallContext, key: KmsKey, conditionValues: Record<string, string>): void {
    const action = `kms:${ctx.operation}`;
    const values: Record<string, string> = {
      "kms:CallerAccount": ctx.accountId,
      "aws:PrincipalArn": ctx.principal.roleArn ?? ctx.principal.arn,
      ...conditionValues,
    };
    const result = authorizeKeyAction(key.policy, { action, principal: ctx.principal, resourceArn: key.arn, conditionValues: values });
    if (!result.allowed) {
      throw new AwsError(
        "AccessDeniedException",
        `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${key.arn} ${
          result.explicitDeny ? "with an explicit deny in a resource-based policy" : `because no resource-based policy allows the ${action} action`
        }`,
      );
    }
  }

  private authorizeIdentity(ctx: CallContext, resource = "*"): void {
    const action = `kms:${ctx.operation}`;
    if (!identityAllows(ctx.principal, action)) {
      throw new AwsError(
        "AccessDeniedException",
        `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
      );
    }
  }

  private async verifyRecipient(recipient: unknown, audit: ApiCallAudit): Promise<VerifiedRecipient | undefined> {
    if (recipient === undefined || recipient === null) return undefined;
    const r = recipient as Recipient;
    if (r.KeyEncryptionAlgorithm !== "RSAES_OAEP_SHA_256") {
      throw validation("1 validation error detected: Value at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]");
    }
    if (typeof r.AttestationDocument !== "string" || r.AttestationDocument.length === 0) {
      throw validation("1 validation error detected: Value at 'recipient.attestationDocument' failed to satisfy constraint: Member must not be null");
    }
    const verdict = await this.verifyAttestation(Buffer.from(r.AttestationDocument, "base64"));
    if (!verdict.ok) throw validation(`The attestation document in the request is not valid: ${verdict.reason}`);
    try {
      const key = crypto.createPublicKey({ key: verdict.publicKey, format: "der", type: "spki" });
      if (key.asymmetricKeyType !== "rsa") throw new Error("not RSA");
    } catch {
      throw validation("The public key in the attestation document must be an RSA public key (DER SubjectPublicKeyInfo).");
    }
    const pcrs: Record<number, string> = {};
    for (const [index, value] of Object.entries(verdict.pcrs)) pcrs[Number(index)] = value.toLowerCase();
    const encode = (hex: string | undefined) =>
      hex === undefined ? undefined : this.pcrEncoding === "hex" ? hex : Buffer.from(hex, "hex").toString("base64");
    const recipientData: JsonObject = {
      attestationDocumentModuleId: verdict.moduleId,
      attestationDocumentEnclaveImageDigest: encode(pcrs[0]),
      attestationDocumentEnclavePCR1: encode(pcrs[1]),
      attestationDocumentEnclavePCR2: encode(pcrs[2]),
      attestationDocumentEnclavePCR3: encode(pcrs[3]),
      attestationDocumentEnclavePCR4: encode(pcrs[4]),
      attestationDocumentEnclavePCR8: encode(pcrs[8]),
    };
    for (const k of Object.keys(recipientData)) if (recipientData[k] === undefined) delete recipientData[k];
    audit.additionalEventData = { recipient: recipientData };
    return { publicKey: verdict.publicKey, pcrs, moduleId: verdict.moduleId };
  }

  private static attestationConditions(recipient: VerifiedRecipient | undefined): Record<string, string> {
    const values: Record<string, string> = {};
    if (!recipient) return values;
    if (recipient.pcrs[0] !== undefined) values["kms:RecipientAttestation:ImageSha384"] = recipient.pcrs[0];
    for (const [index, value] of Object.entries(recipient.pcrs)) values[`kms:RecipientAttestation:PCR${index}`] = value;
    return values;
  }

  private static contextConditions(context: Record<string, string> | undefined): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(context ?? {})) values[`kms:EncryptionContext:${k}`] = v;
    return values;
  }

  // ---- dispatch --------------------------------------------------------------------------------------------

  async handle(ctx: CallContext, input: JsonObject): Promise<JsonObject> {
    // Operations the emulator does not implement are refused before anything is recorded, as AWS does for
    // operations that do not exist.
    if (!SUPPORTED_OPERATIONS.has(ctx.operation)) throw new AwsError("UnknownOperationException", "");
    this.sweepRotations(ctx.region, ctx.now);
    const audit: ApiCallAudit = {
      eventSource: "kms.amazonaws.com",
      eventName: ctx.operation,
      readOnly: !/^(Create|Put|Enable|Disable|Rotate|Update|Delete|Schedule|Cancel|Tag|Untag)/.test(ctx.operation),
      requestParameters: null,
      responseElements: null,
      resources: [],
    };
    try {
      return await this.dispatch(ctx, input, audit);
    } catch (error) {
      if (error instanceof AwsError) audit.error = { code: error.type, message: error.message };
      else audit.error = { code: "InternalFailure", message: "An internal error occurred." };
      throw error;
    } finally {
      this.cloudTrail.append(apiCallEvent(ctx, audit, "kms"), ctx.now);
    }
  }

  /** The usual start of a key-scoped call: record the request, find the key, record it, check the policy. */
  private authorizedKey(ctx: CallContext, keyIdInput: unknown, audit: ApiCallAudit, requestParameters: JsonObject | null): KmsKey {
    audit.requestParameters = requestParameters;
    const key = this.resolveKey(ctx, keyIdInput);
    this.keyResource(key, audit);
    this.authorizeKey(ctx, key, {});
    return key;
  }

  private keyResource(key: KmsKey, audit: ApiCallAudit): void {
    audit.resources = [{ accountId: key.accountId, type: "AWS::KMS::Key", ARN: key.arn }];
  }

  private usableKey(key: KmsKey): void {
    if (!key.enabled) throw new AwsError("DisabledException", `${key.arn} is disabled.`);
  }

  private async dispatch(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): Promise<JsonObject> {
    switch (ctx.operation) {
      case "CreateKey":
        return this.createKey(ctx, input, audit);
      case "DescribeKey": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId });
        return { KeyMetadata: this.metadata(key) };
      }
      case "ListKeys":
        return this.listKeys(ctx, input, audit);
      case "ListAliases":
        return this.listAliases(ctx, input, audit);
      case "CreateAlias":
        return this.createAlias(ctx, input, audit);
      case "GetKeyPolicy": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId, policyName: input.PolicyName ?? "default" });
        return { Policy: key.policy, PolicyName: "default" };
      }
      case "PutKeyPolicy": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId, policyName: input.PolicyName ?? "default", policy: input.Policy, bypassPolicyLockoutSafetyCheck: false });
        if (typeof input.Policy !== "string") throw validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must not be null");
        validateKeyPolicy(input.Policy);
        key.policy = input.Policy;
        this.saveKey(key);
        return {};
      }
      case "EnableKey":
      case "DisableKey": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId });
        key.enabled = ctx.operation === "EnableKey";
        this.saveKey(key);
        return {};
      }
      case "GetKeyRotationStatus": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId });
        const out: JsonObject = { KeyRotationEnabled: key.rotation.enabled, KeyId: key.arn };
        if (key.rotation.enabled) {
          out.RotationPeriodInDays = key.rotation.periodDays;
          out.NextRotationDate = epochSeconds(key.rotation.nextRotationMs ?? 0);
        }
        return out;
      }
      case "EnableKeyRotation":
      case "DisableKeyRotation":
        return this.setRotation(ctx, input, audit);
      case "RotateKeyOnDemand": {
        const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId });
        if (!key.enabled) throw new AwsError("KMSInvalidStateException", `${key.arn} is disabled.`);
        if (key.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
          throw new AwsError("LimitExceededException", `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`);
        }
        key.onDemandRotations += 1;
        audit.responseElements = { keyId: key.keyId };
        this.rotate(key, "ON_DEMAND", ctx.now);
        return { KeyId: key.arn };
      }
      case "ListKeyRotations":
        return this.listKeyRotations(ctx, input, audit);
      case "Encrypt":
        return this.encrypt(ctx, input, audit);
      case "Decrypt":
        return this.decrypt(ctx, input, audit);
      case "GenerateDataKey":
        return this.generateDataKey(ctx, input, audit);
      case "GenerateRandom":
        return this.generateRandom(ctx, input, audit);
      default:
        throw new AwsError("UnknownOperationException", "");
    }
  }

  private metadata(key: KmsKey): JsonObject {
    return {
      AWSAccountId: key.accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: epochSeconds(key.createdMs),
      Enabled: key.enabled,
      Description: key.description,
      KeyUsage: "ENCRYPT_DECRYPT",
      KeyState: key.enabled ? "Enabled" : "Disabled",
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
      KeySpec: "SYMMETRIC_DEFAULT",
      EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
      MultiRegion: false,
      CurrentKeyMaterialId: key.materials[key.materials.length - 1]?.id,
    };
  }

  private createKey(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    audit.requestParameters = {
      description: input.Description ?? "",
      keySpec: input.KeySpec ?? "SYMMETRIC_DEFAULT",
      keyUsage: input.KeyUsage ?? "ENCRYPT_DECRYPT",
      origin: "AWS_KMS",
      bypassPolicyLockoutSafetyCheck: false,
      multiRegion: false,
      ...(typeof input.Policy === "string" ? { policy: input.Policy } : {}),
    };
    this.authorizeIdentity(ctx);
    if ((input.KeySpec ?? "SYMMETRIC_DEFAULT") !== "SYMMETRIC_DEFAULT" || (input.KeyUsage ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT") {
      throw new AwsError("UnsupportedOperationException", "The lab emulator supports SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys only.");
    }
    if (input.Policy !== undefined) {
      if (typeof input.Policy !== "string") throw validation("Policy must be a string.");
      validateKeyPolicy(input.Policy);
    }
    const keyId = crypto.randomUUID();
    const key: KmsKey = {
      keyId,
      arn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${keyId}`,
      region: ctx.region,
      accountId: ctx.accountId,
      createdMs: ctx.now,
      description: typeof input.Description === "string" ? input.Description : "",
      enabled: true,
      policy: typeof input.Policy === "string" ? input.Policy : defaultKeyPolicy(ctx.accountId),
      rotation: { enabled: false },
      materials: [{ id: crypto.randomBytes(32).toString("hex"), key: b64(crypto.randomBytes(32)), createdMs: ctx.now }],
      onDemandRotations: 0,
    };
    this.saveKey(key);
    this.keyResource(key, audit);
    const metadata = this.metadata(key);
    audit.responseElements = { keyMetadata: { ...metadata, CreationDate: cloudTrailTime(key.createdMs) } };
    return { KeyMetadata: metadata };
  }

  private listKeys(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    audit.requestParameters = input.Limit !== undefined || input.Marker !== undefined ? { limit: input.Limit, marker: input.Marker } : null;
    this.authorizeIdentity(ctx);
    const keys = this.allKeys(ctx.region).map((key) => ({ KeyId: key.keyId, KeyArn: key.arn }));
    return paginate(keys, input, "Keys");
  }

  private listAliases(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    audit.requestParameters = input.KeyId !== undefined ? { keyId: input.KeyId } : null;
    let targetKeyId: string | undefined;
    if (input.KeyId !== undefined) {
      const key = this.authorizedKey(ctx, input.KeyId, audit, audit.requestParameters);
      targetKeyId = key.keyId;
    } else {
      this.authorizeIdentity(ctx);
    }
    const rows = this.db
      .prepare("SELECT alias_name, target_key_id, created_ms, updated_ms FROM kms_aliases WHERE region = ? ORDER BY alias_name")
      .all(ctx.region) as { alias_name: string; target_key_id: string; created_ms: number; updated_ms: number }[];
    const aliases = rows
      .filter((row) => targetKeyId === undefined || row.target_key_id === targetKeyId)
      .map((row) => ({
        AliasName: row.alias_name,
        AliasArn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:${row.alias_name}`,
        TargetKeyId: row.target_key_id,
        CreationDate: epochSeconds(row.created_ms),
        LastUpdatedDate: epochSeconds(row.updated_ms),
      }));
    return paginate(aliases, input, "Aliases");
  }

  private createAlias(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    audit.requestParameters = { aliasName: input.AliasName, targetKeyId: input.TargetKeyId };
    const name = input.AliasName;
    if (typeof name !== "string" || !/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(name)) {
      throw validation("1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$");
    }
    if (name.startsWith("alias/aws/")) throw new AwsError("NotAuthorizedException", "Alias names that begin with alias/aws/ are reserved.");
    const key = this.resolveKey(ctx, input.TargetKeyId);
    this.keyResource(key, audit);
    this.authorizeKey(ctx, key, {});
    const exists = this.db.prepare("SELECT 1 FROM kms_aliases WHERE region = ? AND alias_name = ?").get(ctx.region, name);
    if (exists) throw new AwsError("AlreadyExistsException", `An alias with the name arn:aws:kms:${ctx.region}:${ctx.accountId}:${name} already exists`);
    this.db
      .prepare("INSERT INTO kms_aliases (region, alias_name, target_key_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)")
      .run(ctx.region, name, key.keyId, ctx.now, ctx.now);
    return {};
  }

  private setRotation(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    const enable = ctx.operation === "EnableKeyRotation";
    audit.requestParameters = enable
      ? { keyId: input.KeyId, rotationPeriodInDays: input.RotationPeriodInDays ?? 365 }
      : { keyId: input.KeyId };
    const key = this.authorizedKey(ctx, input.KeyId, audit, audit.requestParameters);
    if (!key.enabled) throw new AwsError("DisabledException", `${key.arn} is disabled.`);
    if (enable) {
      const period = input.RotationPeriodInDays ?? 365;
      if (typeof period !== "number" || !Number.isInteger(period) || period < 90 || period > 2560) {
        throw validation(`1 validation error detected: Value '${String(period)}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560`);
      }
      key.rotation = { enabled: true, periodDays: period, nextRotationMs: ctx.now + period * DAY_MS };
    } else {
      key.rotation = { enabled: false };
    }
    this.saveKey(key);
    return {};
  }

  private listKeyRotations(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    const include = input.IncludeKeyMaterial ?? "ROTATIONS_ONLY";
    const key = this.authorizedKey(ctx, input.KeyId, audit, { keyId: input.KeyId, includeKeyMaterial: include });
    if (include !== "ROTATIONS_ONLY" && include !== "ALL_KEY_MATERIAL") {
      throw validation("1 validation error detected: Value at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]");
    }
    const current = key.materials[key.materials.length - 1];
    const rotations = key.materials
      .filter((m) => include === "ALL_KEY_MATERIAL" || m.rotationType !== undefined)
      .map((m) => {
        const entry: JsonObject = {
          KeyId: key.arn,
          KeyMaterialId: m.id,
          KeyMaterialState: m === current ? "CURRENT" : "NON_CURRENT",
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        };
        if (m.rotationType) {
          entry.RotationDate = epochSeconds(m.createdMs);
          entry.RotationType = m.rotationType;
        }
        return entry;
      });
    const page = paginate(rotations, input, "Rotations");
    return page;
  }

  private material(key: KmsKey, id?: string): KeyMaterial | undefined {
    return id === undefined ? key.materials[key.materials.length - 1] : key.materials.find((m) => m.id === id);
  }

  private encrypt(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): JsonObject {
    const context = encryptionContext(input.EncryptionContext);
    audit.requestParameters = {
      keyId: input.KeyId,
      encryptionAlgorithm: input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT",
      ...(context ? { encryptionContext: context } : {}),
    };
    const key = this.resolveKey(ctx, input.KeyId);
    this.keyResource(key, audit);
    this.authorizeKey(ctx, key, Kms.contextConditions(context));
    this.usableKey(key);
    const plaintext = decodeBlob(input.Plaintext, "plaintext", 4096);
    checkAlgorithm(input.EncryptionAlgorithm);
    const material = this.material(key);
    if (!material) throw new AwsError("KMSInternalException", "The key has no key material.", 500);
    const blob = sealBlob(plaintext, { keyId: key.keyId, materialId: material.id }, Buffer.from(material.key, "base64"), context);
    return { CiphertextBlob: b64(blob), KeyId: key.arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
  }

  private async decrypt(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): Promise<JsonObject> {
    const context = encryptionContext(input.EncryptionContext);
    audit.requestParameters = {
      encryptionAlgorithm: input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT",
      ...(context ? { encryptionContext: context } : {}),
    };
    const blob = decodeBlob(input.CiphertextBlob, "ciphertextBlob", 6144);
    checkAlgorithm(input.EncryptionAlgorithm);
    const header = readBlobHeader(blob);
    const key = header ? this.loadKey(ctx.region, header.keyId) : undefined;
    if (!header || !key) throw new AwsError("InvalidCiphertextException", "");
    audit.requestParameters.keyId = key.arn;
    this.keyResource(key, audit);
    if (input.KeyId !== undefined && this.resolveKey(ctx, input.KeyId).keyId !== key.keyId) {
      throw new AwsError("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.");
    }
    const recipient = await this.verifyRecipient(input.Recipient, audit);
    this.authorizeKey(ctx, key, { ...Kms.contextConditions(context), ...Kms.attestationConditions(recipient) });
    this.usableKey(key);
    const material = this.material(key, header.materialId);
    const plaintext = material ? openBlob(blob, Buffer.from(material.key, "base64"), context) : undefined;
    if (!plaintext) throw new AwsError("InvalidCiphertextException", "");
    const out: JsonObject = { KeyId: key.arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT", KeyMaterialId: header.materialId };
    if (recipient) out.CiphertextForRecipient = b64(sealForRecipient(plaintext, recipient.publicKey));
    else out.Plaintext = b64(plaintext);
    return out;
  }

  private async generateDataKey(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): Promise<JsonObject> {
    const context = encryptionContext(input.EncryptionContext);
    audit.requestParameters = {
      keyId: input.KeyId,
      ...(input.NumberOfBytes !== undefined ? { numberOfBytes: input.NumberOfBytes } : {}),
      ...(input.KeySpec !== undefined ? { keySpec: input.KeySpec } : {}),
      ...(context ? { encryptionContext: context } : {}),
    };
    const key = this.resolveKey(ctx, input.KeyId);
    this.keyResource(key, audit);
    const recipient = await this.verifyRecipient(input.Recipient, audit);
    this.authorizeKey(ctx, key, { ...Kms.contextConditions(context), ...Kms.attestationConditions(recipient) });
    this.usableKey(key);
    if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined)) {
      throw validation("Please specify either number of bytes or key spec.");
    }
    let size: number;
    if (input.KeySpec !== undefined) {
      if (input.KeySpec !== "AES_256" && input.KeySpec !== "AES_128") {
        throw validation("1 validation error detected: Value at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]");
      }
      size = input.KeySpec === "AES_256" ? 32 : 16;
    } else {
      size = checkSize(input.NumberOfBytes, "numberOfBytes");
    }
    const material = this.material(key);
    if (!material) throw new AwsError("KMSInternalException", "The key has no key material.", 500);
    const plaintext = crypto.randomBytes(size);
    const blob = sealBlob(plaintext, { keyId: key.keyId, materialId: material.id }, Buffer.from(material.key, "base64"), context);
    const out: JsonObject = { CiphertextBlob: b64(blob), KeyId: key.arn, KeyMaterialId: material.id };
    if (recipient) out.CiphertextForRecipient = b64(sealForRecipient(plaintext, recipient.publicKey));
    else out.Plaintext = b64(plaintext);
    return out;
  }

  private async generateRandom(ctx: CallContext, input: JsonObject, audit: ApiCallAudit): Promise<JsonObject> {
    audit.requestParameters = null;
    const recipient = await this.verifyRecipient(input.Recipient, audit);
    this.authorizeIdentity(ctx);
    if (input.CustomKeyStoreId !== undefined) throw new AwsError("CustomKeyStoreNotFoundException", "Custom key stores are not emulated.");
    const random = crypto.randomBytes(checkSize(input.NumberOfBytes, "numberOfBytes"));
    return recipient ? { CiphertextForRecipient: b64(sealForRecipient(random, recipient.publicKey)) } : { Plaintext: b64(random) };
  }
}

function checkAlgorithm(algorithm: unknown): void {
  if (algorithm !== undefined && algorithm !== "SYMMETRIC_DEFAULT") {
    throw new AwsError("InvalidKeyUsageException", `The encryption algorithm ${String(algorithm)} is not compatible with the type of key`);
  }
}

function checkSize(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 1024) {
    throw validation(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must have value between 1 and 1024`);
  }
  return value;
}

/** Limit/Marker paging as KMS list operations do it (Marker is opaque to clients; here, an offset). */
function paginate(items: JsonObject[], input: JsonObject, field: string): JsonObject {
  const limit = input.Limit ?? 100;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw validation(`1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000`);
  }
  let offset = 0;
  if (input.Marker !== undefined) {
    const decoded = typeof input.Marker === "string" ? Number(Buffer.from(input.Marker, "base64url").toString("utf8")) : Number.NaN;
    if (!Number.isInteger(decoded) || decoded < 0) throw new AwsError("InvalidMarkerException", "The marker that specifies where pagination should next begin is not valid.");
    offset = decoded;
  }
  const page = items.slice(offset, offset + limit);
  const truncated = offset + limit < items.length;
  const out: JsonObject = { [field]: page, Truncated: truncated };
  if (truncated) out.NextMarker = Buffer.from(String(offset + limit)).toString("base64url");
  return out;
}

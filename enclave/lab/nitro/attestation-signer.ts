import crypto from "node:crypto";
import { Encoder } from "cbor-x";
import { issueLeaf, type LabCa, type LeafCredential } from "./lab-ca";

/**
 * Simulated NSM `Attestation` call: produces documents with the exact wire shape of real Nitro hardware
 * (research notes §1.1–1.2, checked against the real documents in test/vectors/attestation/):
 *
 *   COSE_Sign1, untagged:  84 | 44 a1 01 38 22 | a0 | payload bstr | 58 60 <r||s>
 *   payload: map of exactly 9 entries in AWS's order — module_id, digest, timestamp (uint64 ms), pcrs (16 × 48 bytes,
 *   uint keys), certificate, cabundle (root first), public_key, user_data, nonce (bstr or null).
 *
 * Only the trust anchor differs: the chain ends in the lab root.
 */

/**
 * cbor-x options that keep the encoding canonical for our purposes: Maps stay CBOR maps with their own key types
 * (integer PCR indices encode as uint, not as text), Buffers are plain bstr (no typed-array tag 64), no record
 * extension, and map headers use the minimal length form like the NSM's serde_cbor output.
 */
const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });

/** `{1: -35}` = alg ES384, encoded once; real documents carry exactly these 4 bytes. */
export const PROTECTED_HEADER = Buffer.from([0xa1, 0x01, 0x38, 0x22]);
export const PCR_COUNT = 16;
export const PCR_LENGTH = 48;
/** Limit of the NSM API for nonce / user_data / public_key (the CDDL and real hardware: 1024, not 512). */
export const MAX_USER_FIELD_BYTES = 1024;

export interface Measurements {
  pcr0: string;
  pcr1: string;
  pcr2: string;
  pcr8?: string | undefined;
}

const ZERO_PCR = Buffer.alloc(PCR_LENGTH);

/** PCR extend from the zero state: SHA-384(48 zero bytes || data), how the NSM derives PCR3 and PCR4. */
export function extendFromZero(data: Buffer | string): Buffer {
  return crypto.createHash("sha384").update(ZERO_PCR).update(data).digest();
}

/** PCR3: the IAM role ARN attached to the parent instance. */
export function pcr3ForRole(roleArn: string): Buffer {
  return extendFromZero(Buffer.from(roleArn, "utf8"));
}

/** PCR4: the parent instance id. */
export function pcr4ForInstance(parentInstanceId: string): Buffer {
  return extendFromZero(Buffer.from(parentInstanceId, "utf8"));
}

function pcrFromHex(hex: string, name: string): Buffer {
  const b = Buffer.from(hex, "hex");
  if (b.length !== PCR_LENGTH || b.toString("hex") !== hex.toLowerCase()) throw new Error(`${name} must be ${PCR_LENGTH} bytes of hex`);
  return b;
}

/**
 * The 16 PCRs a document carries. In debug mode the image measurements (0, 1, 2, 8) read as zeros while PCR3/PCR4
 * still reflect the parent, exactly as observed on real debug-mode documents.
 */
export function computePcrs(input: {
  measurements: Measurements;
  debugMode: boolean;
  roleArn: string | null;
  parentInstanceId: string;
}): Map<number, Buffer> {
  const pcrs = new Map<number, Buffer>();
  for (let i = 0; i < PCR_COUNT; i++) pcrs.set(i, ZERO_PCR);
  if (!input.debugMode) {
    pcrs.set(0, pcrFromHex(input.measurements.pcr0, "pcr0"));
    pcrs.set(1, pcrFromHex(input.measurements.pcr1, "pcr1"));
    pcrs.set(2, pcrFromHex(input.measurements.pcr2, "pcr2"));
    if (input.measurements.pcr8) pcrs.set(8, pcrFromHex(input.measurements.pcr8, "pcr8"));
  }
  // No role attached to the instance leaves PCR3 at zero (seen on real documents from role-less instances).
  if (input.roleArn) pcrs.set(3, pcr3ForRole(input.roleArn));
  pcrs.set(4, pcr4ForInstance(input.parentInstanceId));
  return pcrs;
}

export interface DocumentFields {
  moduleId: string;
  timestampMs: number;
  pcrs: Map<number, Buffer>;
  certificateDer: Buffer;
  /** Root first: [root, regional, zonal, instance]. */
  cabundle: Buffer[];
  publicKey: Buffer | null;
  userData: Buffer | null;
  nonce: Buffer | null;
}

function checkUserField(name: string, value: Buffer | null): void {
  if (value && value.length > MAX_USER_FIELD_BYTES) throw new RangeError(`${name} exceeds ${MAX_USER_FIELD_BYTES} bytes`);
}

/** Encodes the payload map; the key order is part of the wire shape, so it is built explicitly. */
export function encodePayload(f: DocumentFields): Buffer {
  checkUserField("public_key", f.publicKey);
  checkUserField("user_data", f.userData);
  checkUserField("nonce", f.nonce);
  const pcrs = new Map<number, Buffer>([...f.pcrs.entries()].sort(([a], [b]) => a - b));
  const payload = new Map<string, unknown>([
    ["module_id", f.moduleId],
    ["digest", "SHA384"],
    // BigInt forces CBOR major type 0 with an 8-byte argument (1b …); a JS number above 2^32 would become a float.
    ["timestamp", BigInt(f.timestampMs)],
    ["pcrs", pcrs],
    ["certificate", f.certificateDer],
    ["cabundle", f.cabundle],
    ["public_key", f.publicKey],
    ["user_data", f.userData],
    ["nonce", f.nonce],
  ]);
  return Buffer.from(cbor.encode(payload));
}

/** RFC 8152 §4.4 Sig_structure for COSE_Sign1 with empty external_aad. */
export function sigStructure(protectedHeader: Buffer, payload: Buffer): Buffer {
  return Buffer.from(cbor.encode(["Signature1", protectedHeader, Buffer.alloc(0), payload]));
}

/** Signs and wraps the payload as an untagged COSE_Sign1 with a raw 96-byte r||s ES384 signature. */
export function signDocument(payload: Buffer, leafKey: crypto.KeyObject): Buffer {
  const signature = crypto.sign("sha384", sigStructure(PROTECTED_HEADER, payload), { key: leafKey, dsaEncoding: "ieee-p1363" });
  return Buffer.from(cbor.encode([PROTECTED_HEADER, new Map(), payload, signature]));
}

export interface AttestationRequest {
  nonce?: Buffer | null;
  userData?: Buffer | null;
  publicKey?: Buffer | null;
}

export interface AttestationSignerOptions {
  ca: LabCa;
  region: string;
  parentInstanceId: string;
  enclaveId: string;
  roleArn: string | null;
  measurements: Measurements;
  debugMode: boolean;
  now?: () => Date;
}

/** A leaf is replaced when less than this remains, so a document's timestamp always lies well inside its leaf. */
const LEAF_RENEW_MARGIN_MS = 10 * 60_000;

/**
 * One simulated NSM per enclave: holds the leaf for this boot (re-issued when it nears its 3-hour end, as the
 * hypervisor does) and signs a fresh document per request.
 */
export class AttestationSigner {
  private leaf: LeafCredential | null = null;
  private cabundle: Buffer[] = [];
  private pending: Promise<void> | null = null;
  private readonly pcrs: Map<number, Buffer>;
  private readonly now: () => Date;

  constructor(private readonly opts: AttestationSignerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.pcrs = computePcrs(opts);
  }

  /** The PCRs this enclave reports (debug zeroing applied), lower-case hex by index. */
  pcrHex(): Record<number, string> {
    return Object.fromEntries([...this.pcrs.entries()].map(([i, v]) => [i, v.toString("hex")]));
  }

  private async ensureLeaf(now: Date): Promise<LeafCredential> {
    const current = this.leaf;
    if (current && current.notAfter.getTime() - now.getTime() > LEAF_RENEW_MARGIN_MS && current.notBefore <= now) return current;
    if (!this.pending) {
      this.pending = (async () => {
        const chain = await this.opts.ca.instanceChain(this.opts.region, this.opts.parentInstanceId);
        this.leaf = await issueLeaf(chain, this.opts.enclaveId, now);
        this.cabundle = chain.cabundle;
      })().finally(() => {
        this.pending = null;
      });
    }
    await this.pending;
    if (!this.leaf) throw new Error("leaf issuance failed");
    return this.leaf;
  }

  async attest(req: AttestationRequest = {}): Promise<Buffer> {
    const now = this.now();
    const leaf = await this.ensureLeaf(now);
    const payload = encodePayload({
      moduleId: leaf.moduleId,
      timestampMs: now.getTime(),
      pcrs: this.pcrs,
      certificateDer: leaf.certDer,
      cabundle: this.cabundle,
      publicKey: req.publicKey ?? null,
      userData: req.userData ?? null,
      nonce: req.nonce ?? null,
    });
    return signDocument(payload, leaf.privateKey);
  }
}

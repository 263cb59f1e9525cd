/**
 * A small, strict CBOR (RFC 8949) decoder for attestation documents.
 *
 * Why our own: general-purpose decoders (cbor-x included) are built to be permissive — they accept indefinite
 * lengths, duplicate map keys, non-minimal heads and trailing bytes, and allocate from attacker-supplied lengths.
 * An attestation document is untrusted input that gates a security verdict, so this decoder accepts exactly the
 * subset Nitro produces and fails with a stable reason code for everything else:
 * - definite lengths only; heads must use the shortest form (so one value has exactly one encoding);
 * - every declared length/count is checked against the bytes that remain BEFORE anything is allocated;
 * - nesting depth is bounded (no recursion blow-up on 10k nested arrays);
 * - map keys are integers or text, never duplicated;
 * - no floats, no simple values other than false/true/null, tags only where the caller allows them;
 * - text must be valid UTF-8; trailing bytes after the top-level item are an error.
 * Byte strings are returned as views (subarray) of the input, not copies, so the verifier can hash and verify
 * the ORIGINAL bytes without re-serialising anything.
 */

export type CborValue =
  | { kind: "uint"; value: number | bigint }
  | { kind: "nint"; value: number | bigint }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "text"; value: string }
  | { kind: "array"; items: CborValue[] }
  | { kind: "map"; entries: Array<[CborValue, CborValue]> }
  | { kind: "tag"; tag: number | bigint; value: CborValue }
  | { kind: "simple"; value: boolean | null };

/** Stable failure codes of the decoder; the verifier reports them unchanged. */
export type CborErrorCode =
  | "parse.truncated"
  | "parse.trailing_bytes"
  | "parse.indefinite_length"
  | "parse.duplicate_key"
  | "parse.too_deep"
  | "parse.bad_tag"
  | "parse.non_canonical"
  | "parse.invalid_utf8"
  | "parse.unsupported_type";

export class CborError extends Error {
  constructor(
    readonly code: CborErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "CborError";
  }
}

export interface DecodeOptions {
  /** Maximum nesting of arrays/maps/tags; the top-level item is depth 1. */
  maxDepth: number;
  /** Tags accepted on the top-level item only (e.g. [18] for COSE_Sign1); any other tag is parse.bad_tag. */
  allowedTopLevelTags?: readonly number[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes exactly one CBOR item that spans the whole input. Throws CborError (callers convert it to a reason). */
export function decodeCbor(bytes: Uint8Array, options: DecodeOptions): CborValue {
  const reader = new Reader(bytes, options);
  const value = reader.item(1, true);
  if (reader.pos !== bytes.length) {
    throw new CborError("parse.trailing_bytes", `${bytes.length - reader.pos} byte(s) after the end of the CBOR item`, reader.pos);
  }
  return value;
}

class Reader {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: DecodeOptions,
  ) {}

  private fail(code: CborErrorCode, message: string, at = this.pos): never {
    throw new CborError(code, message, at);
  }

  private need(count: number, what: string): void {
    if (count > this.bytes.length - this.pos) {
      this.fail("parse.truncated", `${what} needs ${count} byte(s) but only ${this.bytes.length - this.pos} remain`);
    }
  }

  /** Reads the argument of a head with additional info `info`; enforces shortest-form encoding. */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    if (info === 31) this.fail("parse.indefinite_length", "indefinite-length items are not accepted", start);
    if (info > 27) this.fail("parse.unsupported_type", `reserved additional information ${info}`, start);
    const size = 1 << (info - 24);
    this.need(size, "integer argument");
    const b = this.bytes;
    const p = this.pos;
    let value: number | bigint;
    if (size === 1) value = b[p]!;
    else if (size === 2) value = (b[p]! << 8) | b[p + 1]!;
    else if (size === 4) value = ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    else {
      const hi = ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      const lo = ((b[p + 4]! << 24) >>> 0) + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
      const big = (BigInt(hi) << 32n) | BigInt(lo);
      value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    this.pos += size;
    // Shortest form: a value that fits the next smaller head must use it. This makes encodings unique, so a
    // re-encoded envelope cannot pass as the original.
    const min = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
    if ((typeof value === "number" ? value : Number.MAX_SAFE_INTEGER + 1) < min) {
      this.fail("parse.non_canonical", `integer argument ${String(value)} is not in its shortest form`, start);
    }
    return value;
  }

  /** A length or count: must fit in the remaining input (each element takes at least one byte). */
  private length(info: number, start: number, what: string): number {
    const value = this.argument(info, start);
    if (typeof value === "bigint" || value > this.bytes.length - this.pos) {
      this.fail("parse.truncated", `${what} of ${String(value)} exceeds the ${this.bytes.length - this.pos} byte(s) that remain`, start);
    }
    return value;
  }

  item(depth: number, topLevel: boolean): CborValue {
    if (depth > this.options.maxDepth) this.fail("parse.too_deep", `nesting deeper than ${this.options.maxDepth}`);
    this.need(1, "item head");
    const start = this.pos;
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return { kind: "uint", value: this.argument(info, start) };
      case 1: {
        const n = this.argument(info, start);
        return { kind: "nint", value: typeof n === "number" && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n) };
      }
      case 2: {
        const len = this.length(info, start, "byte string length");
        const value = this.bytes.subarray(this.pos, this.pos + len);
        this.pos += len;
        return { kind: "bytes", value };
      }
      case 3: {
        const len = this.length(info, start, "text string length");
        let value: string | null = asciiText(this.bytes, this.pos, len);
        if (value === null) {
          try {
            value = utf8.decode(this.bytes.subarray(this.pos, this.pos + len));
          } catch {
            this.fail("parse.invalid_utf8", "text string is not valid UTF-8", start);
          }
        }
        this.pos += len;
        return { kind: "text", value };
      }
      case 4: {
        const count = this.length(info, start, "array count");
        const items: CborValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.item(depth + 1, false));
        return { kind: "array", items };
      }
      case 5: {
        // Each entry takes at least two bytes; checking count against the remaining bytes bounds the loop.
        const count = this.length(info, start, "map size");
        const entries: Array<[CborValue, CborValue]> = [];
        const seen = new Set<number | bigint | string>();
        for (let i = 0; i < count; i++) {
          const keyStart = this.pos;
          const key = this.item(depth + 1, false);
          const id = keyId(key);
          if (id === null) this.fail("parse.unsupported_type", `map key of type ${key.kind} (only integers and text are accepted)`, keyStart);
          if (seen.has(id)) this.fail("parse.duplicate_key", `duplicate map key ${describeKey(key)}`, keyStart);
          seen.add(id);
          entries.push([key, this.item(depth + 1, false)]);
        }
        return { kind: "map", entries };
      }
      case 6: {
        const tag = this.argument(info, start);
        if (!topLevel || typeof tag !== "number" || !(this.options.allowedTopLevelTags ?? []).includes(tag)) {
          this.fail("parse.bad_tag", `CBOR tag ${String(tag)} is not accepted here`, start);
        }
        return { kind: "tag", tag, value: this.item(depth + 1, false) };
      }
      default: {
        if (info === 20 || info === 21) return { kind: "simple", value: info === 21 };
        if (info === 22) return { kind: "simple", value: null };
        if (info === 31) this.fail("parse.indefinite_length", "unexpected break code", start);
        this.fail("parse.unsupported_type", `major type 7 value ${info} (floats and other simple values are not accepted)`, start);
      }
    }
  }
}

/**
 * A short all-ASCII text (every payload key, module_id, digest) decoded without a TextDecoder call: ASCII is valid
 * UTF-8 and maps one byte to one character. Anything else goes through the strict decoder.
 */
function asciiText(bytes: Uint8Array, start: number, length: number): string | null {
  if (length > 64) return null;
  for (let i = start; i < start + length; i++) if (bytes[i]! >= 0x80) return null;
  return String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
}

/**
 * The identity of a map key for duplicate detection: the integer or the text itself. A Set tells 1 from "1" (and
 * compares bigints by value), so no tagged string has to be built per key.
 */
function keyId(key: CborValue): number | bigint | string | null {
  if (key.kind === "uint" || key.kind === "nint" || key.kind === "text") return key.value;
  return null;
}

export function describeKey(key: CborValue): string {
  if (key.kind === "text") return JSON.stringify(key.value);
  if (key.kind === "uint" || key.kind === "nint") return String(key.value);
  return `<${key.kind}>`;
}

/** Size of the shortest CBOR head for `length`. */
function headSize(length: number): number {
  return length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes a CBOR head (major type + argument) in its shortest form at `offset`; returns the offset after it. */
function writeHead(out: Uint8Array, offset: number, major: number, length: number): number {
  const size = headSize(length);
  if (size === 1) out[offset] = (major << 5) | length;
  else {
    out[offset] = (major << 5) | (size === 2 ? 24 : size === 3 ? 25 : 26);
    for (let i = 1; i < size; i++) out[offset + i] = (length >>> (8 * (size - 1 - i))) & 0xff;
  }
  return offset + size;
}

const SIGNATURE1_PREFIX = Uint8Array.of(0x84, 0x6a, ...new TextEncoder().encode("Signature1"));

/**
 * COSE Sig_structure for COSE_Sign1 with empty external_aad (RFC 9052 §4.4):
 * ["Signature1", body_protected, h'', payload], built from the ORIGINAL byte strings (never re-serialised maps),
 * written straight into one buffer.
 */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const total = SIGNATURE1_PREFIX.length + headSize(protectedBytes.length) + protectedBytes.length + 1 + headSize(payload.length) + payload.length;
  // Every byte is written below, so the buffer need not be zero-filled first (and it is its own allocation, not
  // a slice of the shared Buffer pool).
  const out = Buffer.allocUnsafeSlow(total);
  out.set(SIGNATURE1_PREFIX, 0);
  let offset = writeHead(out, SIGNATURE1_PREFIX.length, 2, protectedBytes.length);
  out.set(protectedBytes, offset);
  offset += protectedBytes.length;
  out[offset++] = 0x40; // external_aad: h''
  offset = writeHead(out, offset, 2, payload.length);
  out.set(payload, offset);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

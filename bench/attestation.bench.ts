/**
 * Attestation verification throughput against the cryptography it cannot avoid, measured in the same process:
 * - cold (a fresh chain cache per document): 4 certificate signatures + 1 COSE signature, so the floor is
 *   5 raw ES384 verifies of the same document's signature;
 * - warm (the chain already verified): the floor is 1 raw ES384 verify + SHA-384 of the payload.
 * Value and floor are timed alternately, one operation at a time, and compared by their medians (see compare).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createChainCache, parseAttestationDocument, verifyAttestationDocument } from "../lib/attestation";
import { sigStructure } from "../lib/attestation/cbor";
import type { Benchmark } from "./types";

const VECTOR = "evervault-beta-valid-nondebug-2022-10-13.cbor";
const AT = new Date("2022-10-13T08:58:02.136Z");

function load(): { bytes: Uint8Array; key: crypto.KeyObject; toBeSigned: Uint8Array; signature: Uint8Array; payload: Uint8Array } {
  const bytes = new Uint8Array(fs.readFileSync(path.join(__dirname, "..", "test", "vectors", "attestation", VECTOR)));
  const parsed = parseAttestationDocument(bytes);
  if (!parsed.ok) throw new Error(`vector does not parse: ${parsed.reason.message}`);
  const key = new crypto.X509Certificate(parsed.cose.certificate).publicKey;
  const toBeSigned = sigStructure(parsed.cose.protectedHeader, parsed.cose.payload);
  return { bytes, key, toBeSigned, signature: parsed.cose.signature, payload: parsed.cose.payload };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Times value and floor one operation at a time, strictly alternating, and converts the median duration of each
 * to ops/s. Alternating single operations means both sides sample the same machine load (this box is shared with
 * other jobs), and the median ignores the operations that were descheduled or hit a major GC.
 */
function compare(value: () => void, floor: () => void, iterations: number): { value: number; floor: number } {
  for (let i = 0; i < Math.max(20, iterations / 10); i++) {
    value(); // warm-up: JIT, OpenSSL method caches
    floor();
  }
  const valueMs: number[] = [];
  const floorMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let start = performance.now();
    value();
    valueMs.push(performance.now() - start);
    start = performance.now();
    floor();
    floorMs.push(performance.now() - start);
  }
  return { value: 1000 / median(valueMs), floor: 1000 / median(floorMs) };
}

function rawVerify(fixture: ReturnType<typeof load>): void {
  if (!crypto.verify("sha384", fixture.toBeSigned, { key: fixture.key, dsaEncoding: "ieee-p1363" }, fixture.signature)) {
    throw new Error("raw verify failed");
  }
}

function checked(result: ReturnType<typeof verifyAttestationDocument>): void {
  if (!result.trusted) throw new Error(`benchmark document not trusted: ${result.reasons.map((r) => r.code).join(", ")}`);
}

export const benchmarks: Benchmark[] = [
  {
    name: "attestation verify cold (fresh chain cache)",
    unit: "ops/s",
    better: "higher",
    goal: 1.3,
    async run() {
      const fixture = load();
      return compare(
        () => checked(verifyAttestationDocument(fixture.bytes, { at: AT, chainCache: createChainCache() })),
        () => {
          for (let i = 0; i < 5; i++) rawVerify(fixture);
        },
        400,
      );
    },
  },
  {
    name: "attestation verify warm (cached chain)",
    unit: "ops/s",
    better: "higher",
    goal: 1.3,
    async run() {
      const fixture = load();
      const cache = createChainCache();
      checked(verifyAttestationDocument(fixture.bytes, { at: AT, chainCache: cache }));
      return compare(
        () => checked(verifyAttestationDocument(fixture.bytes, { at: AT, chainCache: cache })),
        () => {
          crypto.createHash("sha384").update(fixture.payload).digest();
          rawVerify(fixture);
        },
        2000,
      );
    },
  },
];

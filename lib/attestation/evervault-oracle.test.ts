/**
 * Cross-check against an independent verifier: Evervault's Rust attestation-doc-validation compiled to wasm
 * (@evervault/wasm-attestation-bindings, dev dependency). It reads the clock through Date.now(), so the clock is
 * pinned to each document's timestamp. Known, documented difference: it caps user_data/nonce at 512 bytes
 * (nsm-api issue #52), so it rejects real documents with larger fields that we (correctly) accept.
 */
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { verifyAttestationDocument } from "./index";
import { loadIndex, loadVector } from "./test-support";

type Bindings = typeof import("@evervault/wasm-attestation-bindings");
let oracle: Bindings;

beforeAll(async () => {
  oracle = await import("@evervault/wasm-attestation-bindings");
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("@evervault/wasm-attestation-bindings/package.json")), "index_bg.wasm"));
  oracle.initSync({ module: wasm });
  // The wasm logs its rejections with console.error; keep the test output clean.
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});

function oracleSays(bytes: Uint8Array, atMs: number, pcr0?: string): boolean {
  const spy = vi.spyOn(Date, "now").mockReturnValue(atMs);
  try {
    const expected = oracle.PCRs.empty(); // moved into wasm by the call: a fresh one every time
    if (pcr0) expected.pcr0 = pcr0;
    return oracle.validateAttestationDocPcrs(Buffer.from(bytes).toString("base64"), [expected]);
  } finally {
    spy.mockRestore();
  }
}

const entries = loadIndex().filter((entry) => entry.timestampMs !== undefined);

describe("agreement with Evervault's verifier on the vectors", () => {
  for (const entry of entries) {
    const bytes = loadVector(entry.file);
    const oversized = [entry.lens!.public_key, entry.lens!.user_data, entry.lens!.nonce].some((length) => length !== null && length > 512);
    it(`${entry.file}${oversized ? " (a field over 512 bytes: Evervault's limit)" : ""}`, () => {
      const ours = verifyAttestationDocument(bytes, { at: new Date(entry.timestampMs!), allowDebug: true });
      const theirs = oracleSays(bytes, entry.timestampMs!);
      if (oversized) {
        // Documented difference: real hardware emits up to 1024 bytes; Evervault rejects, we accept.
        expect(theirs).toBe(false);
        expect(ours.trusted).toBe(true);
      } else {
        expect(ours.trusted).toBe(theirs);
      }
      // Both reject the document a day later (the leaf lives ~3 hours).
      const dayLater = entry.timestampMs! + 24 * 3600_000;
      expect(oracleSays(bytes, dayLater)).toBe(false);
      expect(verifyAttestationDocument(bytes, { at: new Date(dayLater), allowDebug: true }).trusted).toBe(false);
    });
  }

  it("the agreement is not vacuous: the oracle accepts some documents and rejects others", () => {
    const verdicts = entries.map((entry) => oracleSays(loadVector(entry.file), entry.timestampMs!));
    expect(verdicts.filter(Boolean).length).toBe(8);
    expect(verdicts.filter((verdict) => !verdict).length).toBe(5);
  });

  it("agrees on PCR0 checks", () => {
    const entry = entries.find((candidate) => candidate.file === "evervault-beta-valid-nondebug-2022-10-13.cbor")!;
    const bytes = loadVector(entry.file);
    const at = entry.timestampMs!;
    const wrong = `00${entry.pcr0!.slice(2)}`;
    expect(oracleSays(bytes, at, entry.pcr0)).toBe(true);
    expect(verifyAttestationDocument(bytes, { at: new Date(at), expectedPcrs: { 0: entry.pcr0! } }).trusted).toBe(true);
    expect(oracleSays(bytes, at, wrong)).toBe(false);
    expect(verifyAttestationDocument(bytes, { at: new Date(at), expectedPcrs: { 0: wrong } }).trusted).toBe(false);
  });

  it("differs on debug documents by design: Evervault accepts them with empty expectations, we flag doc.debug_mode", () => {
    const entry = entries.find((candidate) => candidate.file === "evervault-beta-debug-mode.cbor")!;
    const bytes = loadVector(entry.file);
    expect(oracleSays(bytes, entry.timestampMs!)).toBe(true);
    const ours = verifyAttestationDocument(bytes, { at: new Date(entry.timestampMs!) });
    expect(ours.trusted).toBe(false);
    expect(ours.reasons.map((reason) => reason.code)).toEqual(["doc.debug_mode"]);
  });
});

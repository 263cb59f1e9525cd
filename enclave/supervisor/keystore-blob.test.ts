import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { assertSafeRelativePath, checkKeystoreVersion, masterKeyEncryptionContext, openKeystore, sealKeystore } from "./keystore-blob";
import { tokenMatches } from "./supervisor";

describe("keystore blob", () => {
  const key = crypto.randomBytes(32);
  const files = { client1_storage_sym: Buffer.from([1, 2, 3]), ".poison_key/poison_key": Buffer.from("p") };

  it("round-trips files and the sealed version", () => {
    const opened = openKeystore(key, sealKeystore(key, 7, files), 7);
    expect(opened).toEqual({ ok: true, version: 7, files });
  });

  it("detects tampering, relabelling and the wrong key", () => {
    const blob = sealKeystore(key, 7, files);
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x80;
    expect(openKeystore(key, flipped, 7)).toMatchObject({ ok: false, reason: "unauthenticated" });
    // Changing the version in the header breaks authentication (it is the AAD).
    const bumped = Buffer.from(blob);
    bumped.writeUInt32BE(8, 4);
    expect(openKeystore(key, bumped, 8)).toMatchObject({ ok: false, reason: "unauthenticated" });
    expect(openKeystore(key, blob, 8)).toMatchObject({ ok: false, reason: "label-mismatch" });
    expect(openKeystore(crypto.randomBytes(32), blob, 7)).toMatchObject({ ok: false, reason: "unauthenticated" });
    expect(openKeystore(key, Buffer.from("nope"), 7)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("binds the master key to the keystore version in the KMS encryption context", () => {
    expect(masterKeyEncryptionContext(3)).toEqual({ purpose: "acra-master-key", keystore_version: "3" });
    expect(() => masterKeyEncryptionContext(-1)).toThrow();
  });

  it("refuses keystores older than the bound version", () => {
    expect(checkKeystoreVersion(5, 4)).toMatchObject({ ok: false });
    expect(checkKeystoreVersion(5, 5)).toEqual({ ok: true, newer: false });
    expect(checkKeystoreVersion(5, 6)).toEqual({ ok: true, newer: true });
  });

  it("refuses paths that would escape the keys folder", () => {
    for (const bad of ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "./a"]) expect(() => assertSafeRelativePath(bad)).toThrow();
    expect(() => sealKeystore(key, 1, { "../evil": Buffer.alloc(1) })).toThrow();
    expect(() => assertSafeRelativePath(".acrakeys/client_storage")).not.toThrow();
  });
});

describe("control token comparison", () => {
  it("accepts only the exact token", () => {
    expect(tokenMatches("abcdefghijklmnopq", "abcdefghijklmnopq")).toBe(true);
    expect(tokenMatches("abcdefghijklmnop", "abcdefghijklmnopq")).toBe(false);
    expect(tokenMatches("", "abcdefghijklmnopq")).toBe(false);
    expect(tokenMatches("abcdefghijklmnopQ", "abcdefghijklmnopq")).toBe(false);
  });
});

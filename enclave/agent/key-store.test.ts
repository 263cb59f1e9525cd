import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventLog } from "./events";
import { KeyBlobStore, KeyStoreError } from "./key-store";
import { OperationStore } from "./operation-store";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "keystore-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe("KeyBlobStore", () => {
  it("stores blobs 0600 in a 0700 folder and serves the live version", async () => {
    const store = await KeyBlobStore.open(path.join(dir, "keys"));
    const blob = crypto.randomBytes(200);
    await store.put("master-key", 1, blob);
    const got = await store.get("master-key");
    expect(got?.ciphertext.equals(blob)).toBe(true);
    expect(got?.version).toBe(1);
    expect(mode(path.join(dir, "keys"))).toBe(0o700);
    expect(mode(path.join(dir, "keys", "master-key", "v1.bin"))).toBe(0o600);
    expect(mode(path.join(dir, "keys", "master-key", "current.json"))).toBe(0o600);
    expect(await store.get("keystore")).toBeNull();
  });

  it("keeps versions, moves forward only, and treats a same-version re-delivery as a no-op", async () => {
    const store = await KeyBlobStore.open(dir);
    const v1 = crypto.randomBytes(32);
    const v2 = crypto.randomBytes(32);
    await store.put("keystore", 1, v1);
    expect((await store.put("keystore", 2, v2)).changed).toBe(true);
    expect((await store.put("keystore", 2, v2)).changed).toBe(false);
    expect(await store.versions("keystore")).toEqual([1, 2]);
    expect((await store.get("keystore"))?.ciphertext.equals(v2)).toBe(true);
    const stale = await store.put("keystore", 1, v1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(KeyStoreError);
    expect((stale as KeyStoreError).code).toBe("stale-version");
    await expect(store.put("keystore", 2, v1)).rejects.toMatchObject({ code: "version-conflict" });
  });

  it("a crash mid-write (temp file left behind, pointer not advanced) leaves the current blob intact", async () => {
    const root = path.join(dir, "keys");
    let store = await KeyBlobStore.open(root);
    const good = crypto.randomBytes(64);
    await store.put("master-key", 3, good);
    // Simulate a crash of a later write at each stage: a torn temp file of the blob, a fully written v4 blob
    // whose pointer update never happened, and a torn temp file of the pointer.
    const sub = path.join(root, "master-key");
    fs.writeFileSync(path.join(sub, `v4.bin.tmp-999-deadbeef0000`), good.subarray(0, 10));
    fs.writeFileSync(path.join(sub, "v4.bin"), crypto.randomBytes(64));
    fs.writeFileSync(path.join(sub, `current.json.tmp-999-deadbeef0001`), '{"version":4,"sha');
    expect((await store.get("master-key"))?.ciphertext.equals(good)).toBe(true);
    // Reopening (agent restart) cleans up the temp files and still serves v3; v4 can then be written for real.
    store = await KeyBlobStore.open(root);
    expect(fs.readdirSync(sub).filter((f) => f.includes(".tmp-"))).toEqual([]);
    expect((await store.get("master-key"))?.version).toBe(3);
    const v4 = crypto.randomBytes(64);
    await store.put("master-key", 4, v4);
    expect((await store.get("master-key"))?.ciphertext.equals(v4)).toBe(true);
  });

  it("detects a blob whose bytes no longer match the recorded digest", async () => {
    const store = await KeyBlobStore.open(dir);
    await store.put("keystore", 1, Buffer.from("ciphertext-1"));
    fs.writeFileSync(path.join(dir, "keystore", "v1.bin"), "tampered");
    await expect(store.get("keystore")).rejects.toMatchObject({ code: "corrupt" });
  });
});

describe("operation and event persistence across an agent restart", () => {
  it("keeps operations and idempotency keys, and fails the ones that were in flight", () => {
    const file = path.join(dir, "operations.json");
    const store = OperationStore.open(file);
    const req = { kind: "deliver-keys" as const, idempotencyKey: "keys-0001", params: { version: 1, blobs: [{ name: "master-key" as const, ciphertextBase64: "AAAA" }] } };
    const { operation } = store.createOrGet(req, ["store-blobs"]);
    store.update(operation.id, (op) => (op.status = "running"));
    store.updateStep(operation.id, "store-blobs", { status: "running", startedAt: new Date().toISOString() });
    const reopened = OperationStore.open(file);
    const op = reopened.get(operation.id)!;
    expect(op.status).toBe("failed");
    expect(op.error?.code).toBe("agent-restarted");
    expect(op.steps[0]?.status).toBe("failed");
    // The key still maps to the same operation (no silent re-run), and a different body is still a conflict.
    expect(reopened.createOrGet(req, ["store-blobs"])).toMatchObject({ created: false, operation: { id: operation.id } });
    expect(() => reopened.createOrGet({ ...req, params: { ...req.params, version: 2 } }, ["store-blobs"])).toThrow(/idempotency key/);
  });

  it("event ids keep increasing after a restart, and a resume point older than the log reports loss", () => {
    const file = path.join(dir, "events.jsonl");
    const log = EventLog.open(file, 3);
    for (let i = 0; i < 5; i++) log.append({ type: "agent-started", agentVersion: `v${i}` });
    const again = EventLog.open(file, 3);
    expect(again.append({ type: "agent-started", agentVersion: "after" }).id).toBe(6);
    expect(again.since(4).events.map((e) => e.id)).toEqual([5, 6]);
    expect(again.since(4).lost).toBe(false);
    expect(again.since(1).lost).toBe(true);
    expect(again.since(1).oldestAvailableId).toBe(4);
  });
});

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB_KINDS, type TestDatabase } from "../../test/db";
import { hashPolicy } from "./policy";
import {
  allowReleases,
  approveRelease,
  currentPolicy,
  ensurePolicy,
  importRelease,
  listPolicyVersions,
  listReleases,
  RegistryError,
  revokeRelease,
  savePolicy,
  setRequireSecondApprover,
} from "./registry-store";
import { releaseImportSchema, type ReleaseImport } from "./release-rules";

const NITRO_CLI = path.join(__dirname, "../../test/vectors/attestation/nitro-cli");
const vector = (name: string) => fs.readFileSync(path.join(NITRO_CLI, name), "utf8");

const ana = { id: "u-ana", email: "ana@example.com" };
const bob = { id: "u-bob", email: "bob@example.com" };

function parsedImport(name: string, version: string, buildOutput: string): ReleaseImport {
  return releaseImportSchema.parse({ name, version, sourceCommit: "3f8b01bA", buildOutput });
}

/** A build output with the given PCR0 (other PCRs from the AWS docs example). */
function buildOutputWithPcr0(pcr0: string): string {
  const json = JSON.parse(vector("nitro-cli-build-enclave-awsdocs.json")) as { Measurements: Record<string, string> };
  json.Measurements.PCR0 = pcr0;
  return JSON.stringify(json);
}

describe.each(TEST_DB_KINDS)("release registry and policies on %s", (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await test.drop();
  });

  it("imports nitro-cli build-enclave output with the printed measurements and refuses duplicates", async () => {
    const release = await importRelease(test.db, parsedImport("acra-server", "0.96.0-1", vector("nitro-cli-build-enclave-awsdocs.json")), ana);
    expect(release).toMatchObject({
      name: "acra-server",
      version: "0.96.0-1",
      sourceCommit: "3f8b01ba",
      pcr0: "7fb5c55bc2ecbb68ed99a13d7122abfc0666b926a79d5379bc58b9445c84217f59cfdd36c08b2c79552928702efe23e4",
      pcr2: "0f0ac32c300289e872e6ac4d19b0b5ac4a9b020c98295643ff3978610750ce6a86f7edff24e3c0a4a445f2ff8a9ea79d",
      pcr8: null,
      source: "nitro-cli build-enclave",
      status: "pending",
      createdBy: "ana@example.com",
    });

    // Same name + version, other measurements.
    const otherPcr0 = "ab".repeat(48);
    await expect(importRelease(test.db, parsedImport("acra-server", "0.96.0-1", buildOutputWithPcr0(otherPcr0)), bob)).rejects.toThrow(
      new RegistryError("Release acra-server 0.96.0-1 is already registered (pending)."),
    );
    // The signed build of the same image: same PCR0 under another version.
    await expect(importRelease(test.db, parsedImport("acra-server", "0.96.0-2", vector("nitro-cli-build-enclave-signed-awsdocs.json")), bob)).rejects.toThrow(
      new RegistryError("This PCR0 is already registered as acra-server 0.96.0-1 (pending)."),
    );
    expect(await test.db.release.count()).toBe(1);
  });

  it("lets the database settle an import race: exactly one of two identical imports wins", async () => {
    const input = parsedImport("race", "1", buildOutputWithPcr0("cd".repeat(48)));
    const outcomes = await Promise.allSettled([importRelease(test.db, input, ana), importRelease(test.db, input, bob)]);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    const rejected = outcomes.find((outcome) => outcome.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(RegistryError);
    expect(await test.db.release.count({ where: { name: "race" } })).toBe(1);
  });

  it("approves once, and with the second-approver setting refuses the importer", async () => {
    const first = await importRelease(test.db, parsedImport("acra-server", "0.97.0", buildOutputWithPcr0("01".repeat(48))), ana);
    // Off (the default): the importer may approve.
    const approved = await approveRelease(test.db, first.id, ana);
    expect(approved).toMatchObject({ status: "approved", approvedBy: "ana@example.com" });
    expect(approved.approvedAt).toBeInstanceOf(Date);
    await expect(approveRelease(test.db, first.id, bob)).rejects.toThrow("This release is already approved.");

    await setRequireSecondApprover(test.db, true, { id: "u-admin", email: "admin@example.com" });
    const second = await importRelease(test.db, parsedImport("acra-server", "0.98.0", buildOutputWithPcr0("02".repeat(48))), ana);
    await expect(approveRelease(test.db, second.id, { id: "u-ana-2", email: "ANA@example.com" })).rejects.toThrow("A second person must approve this release: you imported it.");
    expect((await test.db.release.findUniqueOrThrow({ where: { id: second.id } })).status).toBe("pending");
    expect(await approveRelease(test.db, second.id, bob)).toMatchObject({ status: "approved", approvedBy: "bob@example.com" });
    await setRequireSecondApprover(test.db, false, { id: "u-admin", email: "admin@example.com" });
    await expect(approveRelease(test.db, "no-such-id", bob)).rejects.toThrow("No such release.");
  });

  it("revokes with a reason, once, and a revoked release cannot be approved again", async () => {
    const release = await importRelease(test.db, parsedImport("acra-server", "0.99.0", buildOutputWithPcr0("03".repeat(48))), ana);
    await approveRelease(test.db, release.id, bob);
    const revoked = await revokeRelease(test.db, release.id, "CVE in the base image", bob);
    expect(revoked).toMatchObject({ status: "revoked", revokedBy: "bob@example.com", revokeReason: "CVE in the base image" });
    await expect(revokeRelease(test.db, release.id, "again", ana)).rejects.toThrow("This release is already revoked.");
    await expect(approveRelease(test.db, release.id, ana)).rejects.toThrow("A revoked release cannot be approved again; import a new version.");
    expect((await listReleases(test.db, { status: "revoked" })).map((row) => row.id)).toEqual([release.id]);
  });

  it("keeps policy versions with the hash of each body, allowing only approved releases", async () => {
    expect(await currentPolicy(test.db)).toMatchObject({ version: 0, body: { environment: "production", allowedReleaseIds: [], allowDebug: false, freshnessSeconds: 300 } });
    const stored = await ensurePolicy(test.db);
    expect(stored).toMatchObject({ version: 1, createdBy: "system" });
    expect(stored.hash).toBe(hashPolicy({ environment: "production", allowedReleaseIds: [], allowDebug: false, freshnessSeconds: 300 }));
    expect((await ensurePolicy(test.db)).version).toBe(1);

    const approved = (await listReleases(test.db, { status: "approved" })).map((row) => row.id);
    const pending = (await listReleases(test.db, { status: "pending" }))[0]!;
    const revoked = (await listReleases(test.db, { status: "revoked" }))[0]!;
    expect(approved.length).toBeGreaterThanOrEqual(2);

    const v2 = await savePolicy(test.db, "production", { allowedReleaseIds: approved, allowDebug: false, freshnessSeconds: 120 }, ana);
    expect(v2.version).toBe(2);
    expect(v2.hash).toBe(hashPolicy({ environment: "production", allowedReleaseIds: approved, allowDebug: false, freshnessSeconds: 120 }));
    const row = await test.db.policyVersion.findFirstOrThrow({ where: { environment: "production", version: 2 } });
    expect(hashPolicy(JSON.parse(row.body) as object)).toBe(row.hash);

    await expect(savePolicy(test.db, "production", { allowedReleaseIds: approved, allowDebug: false, freshnessSeconds: 120 }, ana)).rejects.toThrow("Nothing changed: this is already version 2.");
    await expect(savePolicy(test.db, "production", { allowedReleaseIds: approved, allowDebug: true, freshnessSeconds: 120 }, ana)).rejects.toThrow("allowDebug must be false in production");
    await expect(savePolicy(test.db, "production", { allowedReleaseIds: [pending.id], allowDebug: false, freshnessSeconds: 120 }, ana)).rejects.toThrow(/is pending; only approved releases/);
    await expect(savePolicy(test.db, "production", { allowedReleaseIds: [revoked.id], allowDebug: false, freshnessSeconds: 120 }, ana)).rejects.toThrow(/is revoked/);
    await expect(savePolicy(test.db, "production", { allowedReleaseIds: ["ghost"], allowDebug: false, freshnessSeconds: 120 }, ana)).rejects.toThrow("Release ghost does not exist.");

    // Going back to the first body is a new version carrying the first version's hash.
    const v3 = await savePolicy(test.db, "production", { allowedReleaseIds: [], allowDebug: false, freshnessSeconds: 300 }, bob);
    expect(v3).toMatchObject({ version: 3, hash: stored.hash, createdBy: "bob@example.com" });
    // A staging environment may allow debug enclaves; its versions are counted separately.
    expect(await savePolicy(test.db, "staging", { allowedReleaseIds: [], allowDebug: true, freshnessSeconds: 60 }, ana)).toMatchObject({ version: 1 });
    expect((await listPolicyVersions(test.db, "production")).map((version) => version.version)).toEqual([3, 2, 1]);

    // allowReleases adds what is missing once, keeping the rest of the body, and is a no-op the second time.
    const v4 = await allowReleases(test.db, "production", [approved[0]!], ana);
    expect(v4).toMatchObject({ version: 4, body: { allowedReleaseIds: [approved[0]], freshnessSeconds: 300 } });
    expect((await allowReleases(test.db, "production", [approved[0]!], ana)).version).toBe(4);
  });
});

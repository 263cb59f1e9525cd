import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildChain, nitroShapedSpecs, reissue } from "../../lib/attestation/test-support";
import { command, runVerifyAttestation } from "./verify-attestation";

const ROOT = path.join(__dirname, "..", "..");
const VECTORS = path.join(ROOT, "test", "vectors", "attestation");
const GOOD = path.join(VECTORS, "evervault-beta-nondebug-in-cert-2023-01-18.cbor");
const GOOD_AT = "2023-01-18T13:07:19.280Z";
const GOOD_PCR0 = "d265a83faa7b4fa0d73b82b6d06253e894445922937d0ee5a74fe4891da9817611a71e71b98e5329232902de3cf419af";
const DEBUG = path.join(VECTORS, "evervault-ga-debug-2023-09-18.cbor");
const DEBUG_AT = "2023-09-18T15:03:30.860Z";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerifyAttestation(argv, { out: (line) => out.push(line), err: (line) => err.push(line), readFile: (file) => fs.readFileSync(file) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function tempFile(name: string, content: string | Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-attestation-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe("verify-attestation (in process)", () => {
  it("trusts a real document at its instant and prints the summary", async () => {
    const { code, out, err } = await run(GOOD, "--at", GOOD_AT, "--pcr0", GOOD_PCR0.toUpperCase());
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/^TRUSTED /);
    expect(out).toContain("module id          i-0ec0e572c8263d8ff-enc0185c4fd382eeb25");
    expect(out).toContain(`     0  ${GOOD_PCR0}`);
    expect(out).toContain("root               aws (AWS Nitro Enclaves Root-G1)");
    expect(out).toMatch(/leaf +C=US, ST=Washington, L=Seattle, O=Amazon, OU=AWS, CN=i-0ec0e572c8263d8ff-enc0185c4fd382eeb25\.us-east-1\.aws\n +2023-01-18T13:07:13\.000Z \.\. 2023-01-18T16:07:16\.000Z  valid/);
  });

  it("is not trusted (exit 1) on a wrong PCR, a wrong nonce, or at the real current time", async () => {
    const wrongPcr = await run(GOOD, "--at", GOOD_AT, "--pcr2", "0".repeat(96));
    expect(wrongPcr.code).toBe(1);
    expect(wrongPcr.out).toContain("pcr.mismatch: PCR2 ");
    expect((await run(GOOD, "--at", GOOD_AT, "--nonce", "00ff")).out).toContain("nonce.mismatch");
    const now = await run(GOOD);
    expect(now.code).toBe(1);
    expect(now.out).toContain("chain.expired");
    expect(now.out).toContain("valid at issuance  yes");
  });

  it("debug documents need --allow-debug", async () => {
    const refused = await run(DEBUG, "--at", DEBUG_AT);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("doc.debug_mode");
    expect((await run(DEBUG, "--at", DEBUG_AT, "--allow-debug")).code).toBe(0);
  });

  it("reads base64 (with line breaks) as well as raw bytes", async () => {
    const base64 = fs.readFileSync(GOOD).toString("base64").replace(/.{76}/g, "$&\n");
    expect((await run(tempFile("doc.b64", base64), "--at", GOOD_AT)).code).toBe(0);
  });

  it("--json prints the result object", async () => {
    const { code, out } = await run(GOOD, "--at", GOOD_AT, "--json");
    expect(code).toBe(0);
    const result = JSON.parse(out) as { trusted: boolean; document: { moduleId: string; timestamp: string }; chain: unknown[]; root: { kind: string } };
    expect(result.trusted).toBe(true);
    expect(result.document.timestamp).toBe(GOOD_AT);
    expect(result.chain).toHaveLength(5);
    expect(result.root.kind).toBe("aws");
  });

  it("--root adds a lab root that is flagged loudly", async () => {
    const at = new Date(GOOD_AT);
    const chain = await buildChain(nitroShapedSpecs(at));
    const doc = tempFile("lab.cbor", reissue(new Uint8Array(fs.readFileSync(GOOD)), chain));
    const root = tempFile("lab-root.pem", chain.rootPem);
    const without = await run(doc, "--at", GOOD_AT);
    expect(without.code).toBe(1);
    expect(without.out).toContain("chain.untrusted_root");
    const withRoot = await run(doc, "--at", GOOD_AT, "--root", root);
    expect(withRoot.code).toBe(0);
    expect(withRoot.out).toContain("!! LAB ROOT: this document was NOT signed by AWS Nitro hardware !!");
  });

  it("a malformed document is a negative answer (exit 1) with its parse reason", async () => {
    const truncated = tempFile("cut.cbor", fs.readFileSync(GOOD).subarray(0, 100));
    const { code, out } = await run(truncated, "--at", GOOD_AT);
    expect(code).toBe(1);
    expect(out).toContain("parse.truncated");
  });

  it("bad arguments and unreadable input exit 2 with one clear line", async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing <file>/],
      [[GOOD, "--at", "13/01/2023"], /--at: "13\/01\/2023" is not an ISO-8601 date-time/],
      [[GOOD, "--at", "2023-02-30T00:00:00Z"], /not an ISO-8601/],
      [[GOOD, "--at"], /--at needs a value/],
      [[GOOD, "--pcr0", "abc"], /--pcr0: expected 96 hex characters/],
      [[GOOD, "--nonce", "xyz"], /--nonce: expected an even number of hex characters/],
      [[GOOD, "--frobnicate"], /unknown option --frobnicate/],
      [[GOOD, GOOD], /unexpected argument/],
      [[path.join(VECTORS, "does-not-exist.cbor")], /cannot read .*does-not-exist\.cbor: ENOENT/],
      [[GOOD, "--root", path.join(VECTORS, "nope.pem")], /--root: cannot read/],
      [[GOOD, "--root", GOOD], /--root: .*PEM/],
      [[tempFile("empty", "")], /is empty/],
    ];
    for (const [argv, pattern] of cases) {
      const { code, out, err } = await run(...argv);
      expect(code, argv.join(" ")).toBe(2);
      expect(out).toBe("");
      expect(err.split("\n")).toHaveLength(1);
      expect(err).toMatch(pattern);
    }
  });

  it("is registered as the verify-attestation command", () => {
    expect(command.name).toBe("verify-attestation");
    expect(command.usage).toContain("--allow-debug");
  });
});

describe("verify-attestation (spawned through npm run cli)", () => {
  const cli = (...args: string[]) => spawnSync("npx", ["tsx", "bin/cli.ts", "verify-attestation", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

  it("exits 0 for a trusted document and 1 for a tampered one", () => {
    const trusted = cli(GOOD, "--at", GOOD_AT);
    expect(trusted.stderr).toBe("");
    expect(trusted.status).toBe(0);
    expect(trusted.stdout).toMatch(/^TRUSTED /);
    const tampered = cli(path.join(VECTORS, "DERIVED-evervault-beta-valid-nondebug-2022-10-13-INVALID-tampered-pcr0.cbor"), "--at", "2022-10-13T08:58:02.136Z", "--json");
    expect(tampered.status).toBe(1);
    expect((JSON.parse(tampered.stdout) as { reasons: Array<{ code: string }> }).reasons.map((reason) => reason.code)).toEqual(["cose.bad_signature"]);
  });

  it("exits 2 on a bad date", () => {
    const bad = cli(GOOD, "--at", "tomorrow");
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim()).toBe('verify-attestation: --at: "tomorrow" is not an ISO-8601 date-time such as 2022-10-13T08:58:02Z');
  });
});

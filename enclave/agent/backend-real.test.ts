import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError } from "./backend";
import { RealNitroCliBackend, buildRunEnclaveArgs } from "./backend-real";
import { SocatVsockConnector, parseHttpResponse } from "./supervisor-link";

const VECTORS = path.join(__dirname, "..", "..", "test", "vectors", "nitro-cli");
const vector = (name: string) => path.join(VECTORS, name);

let tmp: string;

/**
 * A stand-in nitro-cli: a real executable that the backend spawns. Its behaviour per sub-command comes from
 * FAKE_NITRO_PLAN (a JSON file): print a recorded vector on stdout (and chatter on stderr, like the real CLI),
 * print garbage, hang forever, or fail. It appends its argv to a log so tests can see the exact argument array.
 */
const FAKE_CLI = `#!/usr/bin/env node
const fs = require("node:fs");
const plan = JSON.parse(fs.readFileSync(process.env.FAKE_NITRO_PLAN, "utf8"));
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_NITRO_ARGV_LOG, JSON.stringify(args) + "\\n");
const step = plan[args[0]] ?? { exit: 1, stderr: "unknown command" };
if (step.pidFile) fs.writeFileSync(step.pidFile, String(process.pid));
if (step.stderr) process.stderr.write(step.stderr + "\\n");
if (step.hang) { process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); }
else {
  if (step.stdoutFile) process.stdout.write(fs.readFileSync(step.stdoutFile));
  if (step.stdout) process.stdout.write(step.stdout);
  process.exitCode = step.exit ?? 0;
}
`;

function backendWith(plan: Record<string, unknown>, extra: Partial<ConstructorParameters<typeof RealNitroCliBackend>[0]> = {}) {
  const planFile = path.join(tmp, `plan-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(planFile, JSON.stringify(plan));
  process.env.FAKE_NITRO_PLAN = planFile;
  return new RealNitroCliBackend({
    nitroCliPath: path.join(tmp, "nitro-cli"),
    supervisor: { kind: "vsock", port: 5005 },
    timeouts: { describe: 3000, run: 3000, terminate: 3000, describeEif: 3000, version: 3000 },
    ...extra,
  });
}

const argvLog = () =>
  fs
    .readFileSync(process.env.FAKE_NITRO_ARGV_LOG!, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as string[]);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agent-real-"));
  fs.writeFileSync(path.join(tmp, "nitro-cli"), FAKE_CLI, { mode: 0o755 });
  process.env.FAKE_NITRO_ARGV_LOG = path.join(tmp, "argv.log");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("RealNitroCliBackend against recorded nitro-cli outputs", () => {
  it("parses describe-enclaves (AWS docs example), ignoring the stderr chatter", async () => {
    const b = backendWith({
      "describe-enclaves": { stdoutFile: vector("nitro-cli-describe-enclaves-awsdocs.json"), stderr: "some message" },
    });
    const list = await b.describeEnclaves();
    expect(list).toEqual([
      {
        EnclaveName: "my_enclave",
        EnclaveID: "i-abc12345def67890a-enc9876abcd543210ef12",
        ProcessID: 12345,
        EnclaveCID: 10,
        NumberOfCPUs: 2,
        CPUIDs: [1, 3],
        MemoryMiB: 1600,
        State: "RUNNING",
        Flags: "NONE",
      },
    ]);
  });

  it("parses describe-enclaves with DEBUG_MODE and measurements", async () => {
    const b = backendWith({
      "describe-enclaves": { stdoutFile: vector("nitro-cli-describe-enclaves-with-measurements-CONSTRUCTED.json") },
    });
    const [e] = await b.describeEnclaves();
    expect(e?.Flags).toBe("DEBUG_MODE");
    expect(e?.EnclaveCID).toBe(16);
    expect(e?.Measurements?.HashAlgorithm).toBe("Sha384 { ... }");
    expect(e?.Measurements?.PCR0).toBe(
      "7fb5c55bc2ecbb68ed99a13d7122abfc0666b926a79d5379bc58b9445c84217f59cfdd36c08b2c79552928702efe23e4",
    );
    expect(e?.Measurements?.PCR8).toBeUndefined();
  });

  it("runs an enclave with an argument array, --debug-mode only when asked, and parses run-enclave", async () => {
    const b = backendWith({
      "run-enclave": { stdoutFile: vector("nitro-cli-run-enclave-CONSTRUCTED.json"), stderr: "Start allocating memory..." },
    });
    fs.rmSync(process.env.FAKE_NITRO_ARGV_LOG!, { force: true });
    // A path with spaces and shell metacharacters arrives as one argument: no shell is involved.
    const eif = "/opt/eifs/acra server;$(touch pwned).eif";
    const out = await b.runEnclave({ eifPath: eif, cpuCount: 2, memoryMiB: 1600, debugMode: false });
    expect(out).toEqual({
      EnclaveName: "my_enclave",
      EnclaveID: "i-abc12345def67890a-enc9876abcd543210ef12",
      ProcessID: 12345,
      EnclaveCID: 16,
      NumberOfCPUs: 2,
      CPUIDs: [1, 3],
      MemoryMiB: 1600,
    });
    await b.runEnclave({ eifPath: eif, cpuCount: 4, memoryMiB: 2048, debugMode: true, enclaveCid: 20 });
    const [first, second] = argvLog();
    expect(first).toEqual(["run-enclave", "--eif-path", eif, "--cpu-count", "2", "--memory", "1600"]);
    expect(second).toEqual(["run-enclave", "--eif-path", eif, "--cpu-count", "4", "--memory", "2048", "--enclave-cid", "20", "--debug-mode"]);
    expect(buildRunEnclaveArgs({ eifPath: "/x.eif", cpuCount: 1, memoryMiB: 512, debugMode: false })).not.toContain("--debug-mode");
  });

  it("parses terminate-enclave, and treats Terminated:false as a failure", async () => {
    const ok = backendWith({ "terminate-enclave": { stdoutFile: vector("nitro-cli-terminate-enclave-awsdocs.json") } });
    expect(await ok.terminateEnclave("i-abc12345def67890a-enc9876abcd543210ef12")).toEqual({
      EnclaveID: "i-abc12345def67890a-enc9876abcd543210ef12",
      Terminated: true,
    });
    expect(argvLog().at(-1)).toEqual(["terminate-enclave", "--enclave-id", "i-abc12345def67890a-enc9876abcd543210ef12"]);
    const no = backendWith({ "terminate-enclave": { stdout: '{"EnclaveID":"i-1-enc2","Terminated":false}' } });
    await expect(no.terminateEnclave("i-1-enc2")).rejects.toThrow(/not terminated/);
  });

  it("parses describe-eif (constructed from the struct) and refuses the docs' EXAMPLE-masked PCRs", async () => {
    const b = backendWith({ "describe-eif": { stdoutFile: vector("nitro-cli-describe-eif-CONSTRUCTED.json") } });
    const d = await b.describeEif("/opt/eifs/acra.eif");
    expect(d.EifVersion).toBe(4);
    expect(d.IsSigned).toBe(false);
    expect(d.Measurements.PCR2).toBe(
      "0f0ac32c300289e872e6ac4d19b0b5ac4a9b020c98295643ff3978610750ce6a86f7edff24e3c0a4a445f2ff8a9ea79d",
    );
    expect(argvLog().at(-1)).toEqual(["describe-eif", "--eif-path", "/opt/eifs/acra.eif"]);
    // The AWS docs example masks its PCRs with "EXAMPLE": not a measurement, so it must not pass as one.
    const masked = backendWith({ "describe-eif": { stdoutFile: vector("nitro-cli-describe-eif-awsdocs.json") } });
    await expect(masked.describeEif("/opt/eifs/acra.eif")).rejects.toThrow(/Measurements\.PCR0: expected a SHA-384/);
  });

  it("parses the build-enclave outputs (unsigned and signed with PCR8) with the shared measurements schema", async () => {
    const { parseBuildEnclave } = await import("./nitro-cli-output");
    const unsigned = parseBuildEnclave(fs.readFileSync(vector("nitro-cli-build-enclave-awsdocs.json"), "utf8"));
    expect(unsigned.Measurements.PCR8).toBeUndefined();
    const signed = parseBuildEnclave(fs.readFileSync(vector("nitro-cli-build-enclave-signed-awsdocs.json"), "utf8"));
    expect(signed.Measurements.PCR8).toBe(
      "70da58334a884328944cd806127c7784677ab60a154249fd21546a217299ccfa1ebfe4fa96a163bf41d3bcfaebe68f6f",
    );
    expect(signed.Measurements.PCR0).toBe(unsigned.Measurements.PCR0);
  });

  it("reads the CLI version and the allocator resources", async () => {
    const b = backendWith({ "--version": { stdout: "Nitro CLI 1.4.2\n" } }, { allocatorYamlPath: path.join(tmp, "allocator.yaml") });
    fs.writeFileSync(path.join(tmp, "allocator.yaml"), "---\n# Enclave configuration file.\nmemory_mib: 3072\ncpu_count: 2\n#cpu_pool: 2,3\n");
    expect(await b.version()).toBe("1.4.2");
    expect(await b.allocator()).toEqual({ cpus: 2, memoryMiB: 3072 });
  });
});

describe("RealNitroCliBackend when nitro-cli misbehaves", () => {
  it("garbage on stdout is a typed backend error, not a crash", async () => {
    const b = backendWith({ "describe-enclaves": { stdout: "Segmentation fault\n<html>" } });
    const err = await b.describeEnclaves().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe("backend-error");
    expect((err as BackendError).message).toMatch(/describe-enclaves: stdout is not JSON/);
  });

  it("JSON of the wrong shape is a typed backend error naming the field", async () => {
    const b = backendWith({ "describe-enclaves": { stdout: '[{"EnclaveID":"x","State":"running"}]' } });
    await expect(b.describeEnclaves()).rejects.toThrow(/unexpected JSON shape/);
  });

  it("a non-zero exit is an error carrying the last stderr line", async () => {
    const b = backendWith({ "run-enclave": { exit: 1, stderr: "[ E26 ] Insufficient CPUs available." } });
    await expect(b.runEnclave({ eifPath: "/x.eif", cpuCount: 64, memoryMiB: 512, debugMode: false })).rejects.toThrow(
      /E26 \] Insufficient CPUs/,
    );
  });

  it("a hanging nitro-cli times out quickly and the process is killed (even one that ignores SIGTERM)", async () => {
    const pidFile = path.join(tmp, "hang.pid");
    const b = backendWith({ "describe-enclaves": { hang: true, pidFile } }, { timeouts: { describe: 400 } });
    const t0 = Date.now();
    const err = await b.describeEnclaves().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe("backend-timeout");
    // 400 ms timeout + 1 s SIGTERM grace before SIGKILL.
    expect(Date.now() - t0).toBeLessThan(4000);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it("a missing nitro-cli binary is a typed error", async () => {
    const b = new RealNitroCliBackend({ nitroCliPath: path.join(tmp, "does-not-exist"), supervisor: { kind: "vsock", port: 5005 } });
    await expect(b.describeEnclaves()).rejects.toBeInstanceOf(BackendError);
  });
});

describe("supervisor over vsock through socat", () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    // Plays the supervisor: the raw document bytes include CR/LF and 0x00/0xff to prove nothing is re-encoded.
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === "/v1/attestation") {
          const { nonce } = JSON.parse(Buffer.concat(chunks).toString()) as { nonce: string };
          const doc = Buffer.concat([Buffer.from([0x84, 0x0d, 0x0a, 0x00, 0xff]), Buffer.from(nonce, "hex")]);
          res.writeHead(200, { "Content-Type": "application/cbor" });
          res.end(doc); // chunked transfer (no Content-Length): exercises the chunked parser
        } else if (req.url === "/v1/health") {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ supervisor: "ok", acra: { state: "up", pid: 7, restarts: 1, lastLogAt: null }, keystoreVersion: 3 }));
        } else if (req.url === "/v1/control/reload-keys") {
          res.writeHead(req.headers.authorization === "Bearer token-0123456789abcdef" ? 204 : 401);
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    // A stand-in socat: checks it got "-" and "VSOCK-CONNECT:<cid>:<port>" as separate arguments, then relays
    // stdin/stdout to the TCP port (a vsock port is just a number; here it is also the TCP port).
    fs.writeFileSync(
      path.join(tmp, "socat"),
      `#!/usr/bin/env node
const net = require("node:net");
const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(path.join(tmp, "socat-argv.log"))}, JSON.stringify(process.argv.slice(2)) + "\\n");
const m = /^VSOCK-CONNECT:(\\d+):(\\d+)$/.exec(process.argv[3] || "");
if (process.argv[2] !== "-" || !m) process.exit(2);
const s = net.connect(Number(m[2]), "127.0.0.1");
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on("close", () => process.exit(0));
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("fetches the attestation bytes untouched, health and control through socat", async () => {
    const b = new RealNitroCliBackend({
      nitroCliPath: "nitro-cli",
      supervisor: { kind: "vsock", port },
      controlToken: "token-0123456789abcdef",
      vsockConnector: new SocatVsockConnector(path.join(tmp, "socat")),
    });
    const sup = b.supervisor({ EnclaveID: "i-1-enc1", EnclaveCID: 17 });
    const nonce = "ab".repeat(32);
    const doc = await sup.attest(nonce);
    expect(doc.equals(Buffer.concat([Buffer.from([0x84, 0x0d, 0x0a, 0x00, 0xff]), Buffer.from(nonce, "hex")]))).toBe(true);
    expect((await sup.health()).keystoreVersion).toBe(3);
    await sup.control("reload-keys");
    const argv = fs.readFileSync(path.join(tmp, "socat-argv.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
    expect(argv[0]).toEqual(["-", `VSOCK-CONNECT:17:${port}`]);
  });

  it("a wrong control token is reported as an error", async () => {
    const b = new RealNitroCliBackend({
      supervisor: { kind: "tcp", host: "127.0.0.1", port },
      controlToken: "wrong-token-0000000000",
    });
    await expect(b.supervisor({ EnclaveID: "e", EnclaveCID: 16 }).control("reload-keys")).rejects.toThrow(/answered 401/);
  });
});

describe("parseHttpResponse", () => {
  it("waits for the whole body and handles Content-Length, chunked and read-to-close", () => {
    const head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    expect(parseHttpResponse(Buffer.from(head + "ab"), false)).toBeNull();
    expect(parseHttpResponse(Buffer.from(head + "abcde"), false)?.body.toString()).toBe("abcde");
    const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    expect(parseHttpResponse(Buffer.from(chunked), false)?.body.toString()).toBe("abcde");
    expect(parseHttpResponse(Buffer.from("HTTP/1.0 404 Not Found\r\n\r\nnope"), true)?.status).toBe(404);
    expect(() => parseHttpResponse(Buffer.from(head + "ab"), true)).toThrow(/before the whole body/);
    expect(() => parseHttpResponse(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"), true)).toThrow(/not an HTTP response/);
  });
});

import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dedupePoison, isPoisonHit, isPoisonShutdown, parseAcraLogLine } from "@/lib/acra/log-parser";
import type { AcraLogFormat } from "./log-format";
import type { AcraSimConfig } from "./sim-config";
import { startAcraSimulator, type AcraSimulator } from "./simulator";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const MASTER_KEY = Buffer.alloc(32, 7).toString("base64");

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function request(port: number, method: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Minimal Prometheus text-format reader: every sample line is `name{labels} value`. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    const value = Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}

interface SpawnedSim {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
}

function spawnSim(env: Record<string, string>): SpawnedSim {
  const child = spawn(process.execPath, ["--import", "tsx", "enclave/lab/acra-sim/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let partial = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr?.resume();
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, lines, exit };
}

describe("simulated acra-server process", () => {
  let sim: SpawnedSim;
  let ports: { port: number; metrics: number; control: number };

  beforeAll(async () => {
    ports = { port: await freePort(), metrics: await freePort(), control: await freePort() };
    sim = spawnSim({
      ACRA_MASTER_KEY: MASTER_KEY,
      ACRA_SIM_PORT: String(ports.port),
      ACRA_SIM_METRICS_PORT: String(ports.metrics),
      ACRA_SIM_CONTROL_PORT: String(ports.control),
      ACRA_SIM_LOG_FORMAT: "plaintext",
      ACRA_SIM_CLIENT_ID: "lab-client",
      ACRA_SIM_RATE: "50",
    });
    await waitFor(() => canConnect(ports.port));
  });
  afterAll(() => {
    if (sim.child.exitCode === null) sim.child.kill("SIGKILL");
  });

  it("logs the start-up sequence and traffic in plaintext, serves /metrics, and counts one poison hit", async () => {
    await waitFor(() => sim.lines.some((l) => l.includes("msg=\"Decrypted ")));
    const startup = sim.lines.map((l) => parseAcraLogLine(l));
    expect(startup.every((e) => e.format === "plaintext")).toBe(true);
    expect(startup[0]?.message).toMatch(/^Starting service acra-server \[pid=\d+\]$/);
    expect(startup.find((e) => e.code === 101)?.message).toBe("Turned on poison record detection");
    expect(startup.find((e) => e.message === "Handle client's connection")?.clientId).toBe("lab-client");

    const metrics = parsePrometheus((await request(ports.metrics, "GET", "/metrics")).body);
    expect(metrics.find((s) => s.name === "acraserver_connections_total")?.labels).toEqual({ connection_type: "db" });
    expect(metrics.some((s) => s.name === "acra_decryptions_total" && s.labels.status === "success")).toBe(true);
    expect(metrics.find((s) => s.name === "acraserver_build_info")?.labels).toEqual({ edition: "ce", version: "0.96.0" });

    const before = sim.lines.length;
    const res = await request(ports.control, "POST", "/inject/poison");
    expect(res.status).toBe(200);
    await waitFor(() => sim.lines.slice(before).some((l) => l.includes('msg="Recognized poison record"') && !l.includes("code=")));
    const after = sim.lines.slice(before).map((l) => parseAcraLogLine(l));
    const poisonLines = after.filter((e) => e.message === "Recognized poison record");
    expect(poisonLines).toHaveLength(2);
    expect(poisonLines.filter(isPoisonHit)).toHaveLength(1);
    expect(poisonLines.find(isPoisonHit)).toMatchObject({ level: "warning", clientId: "lab-client" });
    expect(after.some(isPoisonShutdown)).toBe(false);
    expect(dedupePoison(after)).toHaveLength(1);
    expect(sim.child.exitCode).toBeNull();
  });

  it("/inject/crash ends with a Go panic and exit code 2", async () => {
    await request(ports.control, "POST", "/inject/crash");
    expect(await sim.exit).toBe(2);
    const tail = sim.lines.slice(-10);
    expect(tail.some((l) => l.startsWith("panic: runtime error"))).toBe(true);
    expect(tail.some((l) => l.startsWith("goroutine "))).toBe(true);
  });
});

describe("refusals and exits of the process", () => {
  it("missing ACRA_MASTER_KEY: Acra's keystore error line, exit 1", async () => {
    const sim = spawnSim({ ACRA_SIM_PORT: "1", ACRA_SIM_METRICS_PORT: "2", ACRA_SIM_CONTROL_PORT: "3", ACRA_SIM_LOG_FORMAT: "json" });
    expect(await sim.exit).toBe(1);
    const entries = sim.lines.filter((l) => l.trim()).map((l) => parseAcraLogLine(l));
    expect(entries.at(-2)).toMatchObject({ format: "json", level: "warning", message: "ACRA_MASTER_KEY environment variable is not set" });
    expect(entries.at(-1)).toMatchObject({ level: "error", code: 510, message: "Can't init keystore", fields: { error: "master key is empty" } });
  });

  it("a master key that is not 32 bytes is refused too", async () => {
    const sim = spawnSim({
      ACRA_MASTER_KEY: Buffer.alloc(16).toString("base64"),
      ACRA_SIM_PORT: "1",
      ACRA_SIM_METRICS_PORT: "2",
      ACRA_SIM_CONTROL_PORT: "3",
    });
    expect(await sim.exit).toBe(1);
    expect(parseAcraLogLine(sim.lines.filter((l) => l.trim()).at(-1) as string)).toMatchObject({
      code: 510,
      fields: { error: "master key must have 32 length in bytes" },
    });
  });

  it("poison shutdown on: 587, duplicate, 101 exit, then exit code 1; SIGTERM elsewhere exits 0 cleanly", async () => {
    const p = { port: await freePort(), metrics: await freePort(), control: await freePort() };
    const sim = spawnSim({
      ACRA_MASTER_KEY: MASTER_KEY,
      ACRA_SIM_PORT: String(p.port),
      ACRA_SIM_METRICS_PORT: String(p.metrics),
      ACRA_SIM_CONTROL_PORT: String(p.control),
      ACRA_SIM_LOG_FORMAT: "cef",
      ACRA_SIM_RATE: "0",
      ACRA_SIM_POISON_SHUTDOWN: "true",
    });
    await waitFor(() => canConnect(p.port));
    await request(p.control, "POST", "/inject/poison");
    expect(await sim.exit).toBe(1);
    const entries = sim.lines.filter((l) => l.trim()).map((l) => parseAcraLogLine(l));
    expect(entries.map((e) => [e.code, e.message]).slice(-3)).toEqual([
      [587, "Recognized poison record"],
      [100, "Recognized poison record"],
      [101, "Detected poison record, exit"],
    ]);
    expect(entries.some((e) => e.message === "Turned on poison record callback that stops acra-server after poison record detection")).toBe(true);

    const q = { port: await freePort(), metrics: await freePort(), control: await freePort() };
    const calm = spawnSim({
      ACRA_MASTER_KEY: MASTER_KEY,
      ACRA_SIM_PORT: String(q.port),
      ACRA_SIM_METRICS_PORT: String(q.metrics),
      ACRA_SIM_CONTROL_PORT: String(q.control),
      ACRA_SIM_RATE: "0",
    });
    await waitFor(() => canConnect(q.port));
    calm.child.kill("SIGTERM");
    expect(await calm.exit).toBe(0);
    expect(calm.lines.filter((l) => l.trim()).at(-1)).toMatch(/msg="Server graceful shutdown completed, bye PID: \d+"$/);
  });
});

describe("simulator in-process (JSON and CEF, KMS, db-lost)", () => {
  const running: AcraSimulator[] = [];
  afterAll(async () => {
    for (const s of running) await s.shutdown();
  });

  async function start(format: AcraLogFormat, kmsEndpoint?: string) {
    const lines: string[] = [];
    const exits: number[] = [];
    const config: AcraSimConfig = {
      masterKey: Buffer.alloc(32),
      host: "127.0.0.1",
      port: await freePort(),
      metricsPort: await freePort(),
      controlPort: await freePort(),
      logFormat: format,
      clientId: "inproc",
      ratePerSecond: 200,
      poisonShutdown: false,
      version: "0.96.0",
      ...(kmsEndpoint ? { kms: { endpoint: kmsEndpoint, region: "eu-west-1", keyId: "alias/acra-lab", intervalMs: 100 } } : {}),
    };
    const sim = await startAcraSimulator(config, { writeLine: (l) => lines.push(l), exit: (c) => exits.push(c) });
    running.push(sim);
    return { sim, lines, exits, config };
  }

  it("writes parseable JSON and CEF; db-lost closes the port until db-restored", async () => {
    for (const format of ["json", "cef"] as const) {
      const { lines, config } = await start(format);
      await waitFor(() => lines.length > 20);
      const entries = lines.map((l) => parseAcraLogLine(l));
      expect(entries.every((e) => e.format === format)).toBe(true);

      await request(config.controlPort, "POST", "/inject/decrypt-failure");
      await request(config.controlPort, "POST", "/inject/censor-block");
      await request(config.controlPort, "POST", "/inject/db-lost");
      expect(await canConnect(config.port)).toBe(false);
      const codes = lines.map((l) => parseAcraLogLine(l).code);
      expect(codes).toEqual(expect.arrayContaining([581, 560, 540]));
      const quiet = lines.length;
      await new Promise((r) => setTimeout(r, 100));
      expect(lines.length).toBe(quiet);
      await request(config.controlPort, "POST", "/inject/db-restored");
      expect(await canConnect(config.port)).toBe(true);
      await waitFor(() => lines.length > quiet);

      const metrics = parsePrometheus((await request(config.metricsPort, "GET", "/metrics")).body);
      expect(metrics.find((s) => s.name === "acra_decryptions_total" && s.labels.status === "fail")?.value).toBe(1);
    }
  });

  it("calls KMS GenerateDataKey with the real SDK through the proxy endpoint; a failing KMS is logged, never fatal", async () => {
    const targets: string[] = [];
    let fail = false;
    const kms = http.createServer((req, res) => {
      targets.push(String(req.headers["x-amz-target"]));
      req.resume();
      req.on("end", () => {
        if (fail) {
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ __type: "AccessDeniedException", message: "no attestation" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ KeyId: "arn:aws:kms:eu-west-1:111122223333:key/x", Plaintext: Buffer.alloc(32).toString("base64"), CiphertextBlob: "AAAA" }));
      });
    });
    await new Promise<void>((r) => kms.listen(0, "127.0.0.1", r));
    const { port } = kms.address() as net.AddressInfo;
    try {
      const { sim, lines, exits } = await start("plaintext", `http://127.0.0.1:${port}`);
      await waitFor(() => sim.status().kms.calls >= 2);
      expect(targets.every((t) => t === "TrentService.GenerateDataKey")).toBe(true);
      expect(sim.status().kms.failures).toBe(0);
      fail = true;
      await waitFor(() => sim.status().kms.failures >= 1);
      await waitFor(() => lines.find((l) => l.includes("Failed to call KMS GenerateDataKey")));
      const failure = parseAcraLogLine(lines.find((l) => l.includes("Failed to call KMS GenerateDataKey")) as string);
      expect(failure.level).toBe("warning");
      expect(failure.fields.error).toContain("AccessDeniedException");
      expect(exits).toEqual([]);
    } finally {
      await new Promise((r) => kms.close(r));
    }
  });
});

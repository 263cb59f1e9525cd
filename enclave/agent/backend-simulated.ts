/**
 * The lab backend: stands in for nitro-cli by starting one child process per enclave
 * (`node --import tsx enclave/lab/nitro/simulated-enclave.ts --config <file>`, see /work/lab-contract.md) and
 * answering with nitro-cli's JSON shapes.
 *
 * Like a real enclave, a simulated one outlives the agent: children are spawned detached (own process group) with
 * stdout going to a file, and the backend's state file lets a restarted agent adopt them again. While the agent
 * runs, it tails that file, prefixes each line the way Enclaver does and hands it to `onLogLine`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import {
  simulatedEnclaveConfigSchema,
  type SimulatedEnclaveConfigInput,
} from "@/enclave/lab/nitro/simulated-enclave-config";
import {
  BackendError,
  resolveLocalEif,
  type BackendRunRequest,
  type EnclaveExitInfo,
  type EnclaveRef,
  type HealthTargets,
  type NitroBackend,
} from "./backend";
import { writeFileAtomic } from "./key-store";
import { readLabEif } from "./lab-eif";
import type {
  DescribeEifOutput,
  DescribeEnclaveEntry,
  RunEnclaveOutput,
  TerminateEnclaveOutput,
} from "./nitro-cli-output";
import { SupervisorClient, tcpConnector } from "./supervisor-link";

/** Exactly what enclaver-run prints before each line of the enclave's output (pretty_env_logger). */
export const ENCLAVER_LOG_PREFIX = " INFO  enclave         > ";
/** Enclaver relays at most 4 KiB per line. */
const MAX_LINE = 4096;

export interface SimulatedNitroBackendOptions {
  /** Per-host folder for the backend's state, enclave configs and output files. */
  stateDir: string;
  parentInstanceId: string;
  roleArn: string;
  region: string;
  labCaDir: string;
  aws: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  kmsKeyId: string;
  /** Base URL of the agent's key blob service (the supervisor GETs <url>/master-key and <url>/keystore). */
  hostKeyStoreUrl: string;
  acra: { logFormat: "plaintext" | "json" | "cef"; clientId: string };
  allocator: { cpus: number; memoryMiB: number };
  /** The program standing in for an enclave; `--config <file>` is appended. Default: the lab's simulated-enclave.ts. */
  enclaveCommand?: { command: string; args: string[]; cwd?: string };
  eifDirs?: string[];
  onLogLine?: (enclaveId: string, line: string) => void;
  /** How long run-enclave waits for the supervisor port to accept, like nitro-cli waiting for the boot heartbeat. */
  bootTimeoutMs?: number;
  nitroCliVersion?: string;
}

interface SimEnclave {
  entry: DescribeEnclaveEntry;
  pid: number;
  startedAt: string;
  configPath: string;
  stdoutPath: string;
  stderrPath: string;
  logOffset: number;
  controlToken: string;
  ports: { supervisor: number; odynApi: number; kmsProxy: number; acra: number; acraMetrics: number; acraControl: number };
}

const REPO_ROOT = path.resolve(__dirname, "..", "..");

export function defaultEnclaveCommand(): { command: string; args: string[]; cwd: string } {
  return {
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, "enclave", "lab", "nitro", "simulated-enclave.ts")],
    cwd: REPO_ROOT,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Alive and not a zombie: an adopted enclave that died is reparented, and a container's PID 1 may never reap it. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch (e) {
    // ENOENT: it just went away. Anything else (no /proc on macOS): trust kill(0).
    return (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/** Is `pid` still the process we started for `configPath` (and not a recycled pid)? */
function isOurEnclave(pid: number, configPath: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(configPath);
  } catch {
    // No /proc (macOS): fall back to liveness alone.
    return true;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export class SimulatedNitroBackend implements NitroBackend {
  readonly kind = "simulator" as const;
  private readonly live = new Map<string, SimEnclave>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, EnclaveExitInfo>();
  private readonly lastLog = new Map<string, Date>();
  private readonly partial = new Map<string, string>();
  private readonly terminating = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly stateFile: string;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly opts: SimulatedNitroBackendOptions) {
    this.stateFile = path.join(opts.stateDir, "simulated-enclaves.json");
  }

  /** Opens the backend, adopting enclaves a previous agent process left running. */
  static async open(opts: SimulatedNitroBackendOptions): Promise<SimulatedNitroBackend> {
    const b = new SimulatedNitroBackend(opts);
    await fsp.mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
    const saved = await fsp
      .readFile(b.stateFile, "utf8")
      .then((t) => JSON.parse(t) as SimEnclave[])
      .catch(() => [] as SimEnclave[]);
    for (const e of saved) {
      if (isOurEnclave(e.pid, e.configPath)) b.live.set(e.entry.EnclaveID, e);
      else b.exits.set(e.entry.EnclaveID, { exitCode: null, signal: null, at: new Date() });
    }
    await b.saveState();
    b.timer = setInterval(() => b.tick(), 200);
    b.timer.unref();
    return b;
  }

  private async saveState(): Promise<void> {
    await writeFileAtomic(this.stateFile, JSON.stringify([...this.live.values()], null, 1));
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tails every live enclave's stdout file and notices deaths of adopted enclaves (not our children). */
  private tick(): void {
    for (const e of this.live.values()) {
      this.drainLog(e);
      if (!this.children.has(e.entry.EnclaveID) && !pidAlive(e.pid)) {
        this.recordExit(e, null, null);
      }
    }
  }

  private drainLog(e: SimEnclave): void {
    let fd: number;
    try {
      fd = fs.openSync(e.stdoutPath, "r");
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, e.logOffset);
        if (n <= 0) break;
        e.logOffset += n;
        const text = (this.partial.get(e.entry.EnclaveID) ?? "") + buf.subarray(0, n).toString("utf8");
        const lines = text.split("\n");
        this.partial.set(e.entry.EnclaveID, lines.pop() ?? "");
        for (const line of lines) this.emitLine(e.entry.EnclaveID, line.replace(/\r$/, ""));
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private emitLine(enclaveId: string, line: string): void {
    if (!line) return;
    this.lastLog.set(enclaveId, new Date());
    const shipped = `${ENCLAVER_LOG_PREFIX}${line.slice(0, MAX_LINE)}`;
    try {
      this.opts.onLogLine?.(enclaveId, shipped);
    } catch {
      // A failing log sink must not take the enclave bookkeeping down with it.
    }
  }

  private recordExit(e: SimEnclave, exitCode: number | null, signal: string | null): void {
    const id = e.entry.EnclaveID;
    if (!this.live.has(id)) return;
    this.drainLog(e);
    const rest = this.partial.get(id);
    if (rest) this.emitLine(id, rest);
    this.partial.delete(id);
    // The supervisor's own children (acra-server) must not outlive the "enclave".
    killGroup(e.pid, "SIGKILL");
    this.live.delete(id);
    this.children.delete(id);
    this.exits.set(id, { exitCode, signal, at: new Date() });
    void this.saveState().finally(() => this.notify());
  }

  async version(): Promise<string> {
    return this.opts.nitroCliVersion ?? "1.4.2-lab-simulator";
  }

  async allocator(): Promise<{ cpus: number; memoryMiB: number }> {
    return this.opts.allocator;
  }

  async describeEnclaves(): Promise<DescribeEnclaveEntry[]> {
    return [...this.live.values()].map((e) => ({
      ...structuredClone(e.entry),
      State: this.terminating.has(e.entry.EnclaveID) ? "TERMINATING" : "RUNNING",
    }));
  }

  resolveEif(uri: string): Promise<string> {
    return resolveLocalEif(uri, this.opts.eifDirs);
  }

  async describeEif(eifPath: string): Promise<DescribeEifOutput> {
    try {
      return await readLabEif(eifPath);
    } catch (e) {
      throw new BackendError("backend-error", (e as Error).message);
    }
  }

  private allocate(req: BackendRunRequest): { cpuIds: number[]; cid: number } {
    const used = [...this.live.values()];
    const usedCpus = new Set(used.flatMap((e) => e.entry.CPUIDs));
    const usedMem = used.reduce((a, e) => a + e.entry.MemoryMiB, 0);
    if (usedMem + req.memoryMiB > this.opts.allocator.memoryMiB) {
      throw new BackendError(
        "backend-error",
        `[ E27 ] Insufficient memory available: requested ${req.memoryMiB} MiB, ${this.opts.allocator.memoryMiB - usedMem} MiB free in the enclave pool`,
      );
    }
    // CPU 0 stays with the parent, as the real allocator requires; enclave CPUs come in order from 1.
    const cpuIds: number[] = [];
    for (let c = 1; c <= this.opts.allocator.cpus && cpuIds.length < req.cpuCount; c++) if (!usedCpus.has(c)) cpuIds.push(c);
    if (cpuIds.length < req.cpuCount) {
      throw new BackendError("backend-error", `[ E26 ] Insufficient CPUs available: requested ${req.cpuCount}`);
    }
    const usedCids = new Set(used.map((e) => e.entry.EnclaveCID));
    if (req.enclaveCid !== undefined && usedCids.has(req.enclaveCid)) {
      throw new BackendError("backend-error", `enclave CID ${req.enclaveCid} is already in use`);
    }
    let cid = req.enclaveCid ?? 16;
    while (usedCids.has(cid)) cid++;
    return { cpuIds, cid };
  }

  async runEnclave(req: BackendRunRequest): Promise<RunEnclaveOutput> {
    if (this.closed) throw new BackendError("backend-error", "backend closed");
    const eif = await this.describeEif(req.eifPath);
    const { cpuIds, cid } = this.allocate(req);
    const enclaveId = `${this.opts.parentInstanceId}-enc${crypto.randomBytes(8).toString("hex")}`;
    const name = req.enclaveName ?? path.basename(req.eifPath).replace(/\.eif$/, "");
    const dir = path.join(this.opts.stateDir, "enclaves", enclaveId);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const [supervisor, odynApi, kmsProxy, acra, acraMetrics, acraControl] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const ports = {
      supervisor: supervisor!,
      odynApi: odynApi!,
      kmsProxy: kmsProxy!,
      acra: acra!,
      acraMetrics: acraMetrics!,
      acraControl: acraControl!,
    };
    const controlToken = crypto.randomBytes(24).toString("hex");
    const m = eif.Measurements;
    const config: SimulatedEnclaveConfigInput = {
      enclaveId,
      enclaveCid: cid,
      parentInstanceId: this.opts.parentInstanceId,
      roleArn: this.opts.roleArn,
      region: this.opts.region,
      debugMode: req.debugMode,
      measurements: { pcr0: m.PCR0, pcr1: m.PCR1, pcr2: m.PCR2, ...(m.PCR8 ? { pcr8: m.PCR8 } : {}) },
      labCaDir: this.opts.labCaDir,
      supervisorPort: ports.supervisor,
      odynApiPort: ports.odynApi,
      kmsProxyPort: ports.kmsProxy,
      hostKeyStoreUrl: this.opts.hostKeyStoreUrl,
      controlToken,
      aws: this.opts.aws,
      kmsKeyId: this.opts.kmsKeyId,
      acra: {
        port: ports.acra,
        metricsPort: ports.acraMetrics,
        controlPort: ports.acraControl,
        logFormat: this.opts.acra.logFormat,
        clientId: this.opts.acra.clientId,
      },
    };
    // Validate against the nitro helper's schema so a contract drift fails here, with a clear message.
    simulatedEnclaveConfigSchema.parse(config);
    const configPath = path.join(dir, "config.json");
    await writeFileAtomic(configPath, JSON.stringify(config, null, 2));
    const stdoutPath = path.join(dir, "stdout.log");
    const stderrPath = path.join(dir, "stderr.log");
    const out = fs.openSync(stdoutPath, "a", 0o600);
    const err = fs.openSync(stderrPath, "a", 0o600);
    const cmd = this.opts.enclaveCommand ?? defaultEnclaveCommand();
    let child: ChildProcess;
    try {
      child = spawn(cmd.command, [...cmd.args, "--config", configPath], {
        cwd: cmd.cwd ?? REPO_ROOT,
        detached: true,
        stdio: ["ignore", out, err],
        shell: false,
      });
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    const pid = child.pid;
    if (pid === undefined) {
      await new Promise((r) => child.once("error", r));
      throw new BackendError("backend-error", `could not start the simulated enclave (${cmd.command})`);
    }
    const record: SimEnclave = {
      entry: {
        EnclaveName: name,
        EnclaveID: enclaveId,
        ProcessID: pid,
        EnclaveCID: cid,
        NumberOfCPUs: cpuIds.length,
        CPUIDs: cpuIds,
        MemoryMiB: req.memoryMiB,
        State: "RUNNING",
        Flags: req.debugMode ? "DEBUG_MODE" : "NONE",
        Measurements: m,
      },
      pid,
      startedAt: new Date().toISOString(),
      configPath,
      stdoutPath,
      stderrPath,
      logOffset: 0,
      controlToken,
      ports,
    };
    this.live.set(enclaveId, record);
    this.children.set(enclaveId, child);
    child.on("exit", (code, signal) => this.recordExit(record, code, signal));
    await this.saveState();

    // nitro-cli returns once the enclave has booted; here "booted" = the supervisor port accepts.
    const deadline = Date.now() + (this.opts.bootTimeoutMs ?? 20_000);
    for (;;) {
      if (!this.live.has(enclaveId)) {
        const exit = this.exits.get(enclaveId);
        const stderr = await fsp.readFile(stderrPath, "utf8").catch(() => "");
        throw new BackendError(
          "backend-error",
          `simulated enclave exited during boot (code ${exit?.exitCode ?? "?"}${exit?.signal ? `, ${exit.signal}` : ""}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
      }
      if (await canConnect(ports.supervisor)) break;
      if (Date.now() > deadline) {
        killGroup(pid, "SIGKILL");
        throw new BackendError("backend-timeout", `simulated enclave did not open its supervisor port within the boot timeout`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.notify();
    const { State: _s, Flags: _f, Measurements: _m, ...run } = record.entry;
    return run;
  }

  async terminateEnclave(enclaveId: string): Promise<TerminateEnclaveOutput> {
    const e = this.live.get(enclaveId);
    if (!e) throw new BackendError("not-found", `[ E11 ] enclave ${enclaveId} not found`);
    this.terminating.add(enclaveId);
    try {
      // SIGTERM = terminate-enclave per the lab contract (clean exit within 2 s); then the whole group is killed.
      killGroup(e.pid, "SIGTERM");
      const deadline = Date.now() + 3000;
      while (this.live.has(enclaveId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (this.live.has(enclaveId)) {
        killGroup(e.pid, "SIGKILL");
        const hard = Date.now() + 2000;
        while (this.live.has(enclaveId) && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
        // An adopted enclave is not our child: its death is noticed by polling, so record it here.
        if (this.live.has(enclaveId) && !pidAlive(e.pid)) this.recordExit(e, null, "SIGKILL");
      }
    } finally {
      this.terminating.delete(enclaveId);
    }
    if (this.live.has(enclaveId)) throw new BackendError("backend-timeout", `enclave ${enclaveId} did not terminate`);
    return { EnclaveName: e.entry.EnclaveName, EnclaveID: enclaveId, Terminated: true };
  }

  private record(ref: EnclaveRef): SimEnclave {
    const e = this.live.get(ref.EnclaveID);
    if (!e) throw new BackendError("not-found", `enclave ${ref.EnclaveID} not found`);
    return e;
  }

  supervisor(ref: EnclaveRef): SupervisorClient {
    const e = this.record(ref);
    return new SupervisorClient(tcpConnector("127.0.0.1", e.ports.supervisor), e.controlToken, 5000);
  }

  healthTargets(ref: EnclaveRef): HealthTargets {
    const e = this.live.get(ref.EnclaveID);
    if (!e) return {};
    return {
      acra: { host: "127.0.0.1", port: e.ports.acra },
      metricsUrl: `http://127.0.0.1:${e.ports.acraMetrics}/metrics`,
    };
  }

  /** Lab-only facts the launcher and lab control need (e.g. acra-sim's /inject port). */
  labDetails(enclaveId: string): { pid: number; ports: SimEnclave["ports"]; configPath: string } | undefined {
    const e = this.live.get(enclaveId);
    return e ? { pid: e.pid, ports: { ...e.ports }, configPath: e.configPath } : undefined;
  }

  lastLogAt(enclaveId: string): Date | null {
    return this.lastLog.get(enclaveId) ?? null;
  }

  exitInfo(enclaveId: string): EnclaveExitInfo | undefined {
    return this.exits.get(enclaveId);
  }

  async close(opts?: { terminateEnclaves?: boolean }): Promise<void> {
    if (opts?.terminateEnclaves) {
      for (const id of [...this.live.keys()]) await this.terminateEnclave(id).catch(() => undefined);
    }
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const e of this.live.values()) this.drainLog(e);
    // Detached children keep running (as enclaves outlive their agent); drop our handles so Node can exit.
    for (const c of this.children.values()) c.unref();
    await this.saveState();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

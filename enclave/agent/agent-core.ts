/**
 * The agent's brain, independent of HTTP: enclave state (polled from the backend and diffed into events), health
 * probing, attestation pass-through, and the operation runner (one operation at a time per host, each step
 * recorded and persisted).
 */
import fs from "node:fs";
import path from "node:path";
import type {
  AcraHealth,
  Enclave,
  HostFacts,
  Operation,
  ParsedOperationRequest,
} from "@/lib/fleet/agent-protocol";
import { BackendError, type NitroBackend } from "./backend";
import { EventLog } from "./events";
import { healthVerdict, laterIso, probeTcp, scrapeMetrics } from "./health";
import { KeyBlobStore, KeyStoreError } from "./key-store";
import type { DescribeEnclaveEntry } from "./nitro-cli-output";
import { IdempotencyConflictError, OperationStore } from "./operation-store";
import { SupervisorLinkError, type SupervisorHealth } from "./supervisor-link";

export interface AgentCoreOptions {
  backend: NitroBackend;
  host: { instanceId: string; region: string; availabilityZone: string; roleArn: string };
  dataDir: string;
  agentVersion: string;
  pollIntervalMs?: number;
  probeTimeoutMs?: number;
  waitHealthyTimeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface Tracked {
  entry: DescribeEnclaveEntry;
  startedAt: string;
  health: AcraHealth;
}

export class OperationStepError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OperationStepError";
  }
}

const UNKNOWN_HEALTH: AcraHealth = { status: "unknown", tcp: "unknown", checkedAt: null, lastLogAt: null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start time of a process from /proc (enclave process on a real host, the child in the lab); null if unknown. */
function processStartTime(pid: number): Date | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime, clock ticks since boot) counted after the ")" closing the command name.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))?.[1]);
    // USER_HZ is 100 on every Linux the agent targets (x86_64/aarch64 Amazon Linux).
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return null;
    return new Date(btime * 1000 + ticks * 10);
  } catch {
    return null;
  }
}

export class AgentCore {
  readonly events: EventLog;
  readonly operations: OperationStore;
  private tracked = new Map<string, Tracked>();
  private exited = new Map<string, Enclave>();
  private readonly expectedExits = new Set<string>();
  private readonly seenFile: string;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private lastPollError: Error | null = null;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private unsubscribeBackend: () => void = () => undefined;
  private readonly pollIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly waitHealthyTimeoutMs: number;

  private constructor(
    private readonly opts: AgentCoreOptions,
    readonly keyStore: KeyBlobStore,
  ) {
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    this.events = EventLog.open(path.join(opts.dataDir, "events.jsonl"));
    this.operations = OperationStore.open(path.join(opts.dataDir, "operations.json"));
    this.seenFile = path.join(opts.dataDir, "enclaves-seen.json");
    this.pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 1000;
    this.waitHealthyTimeoutMs = opts.waitHealthyTimeoutMs ?? 60_000;
  }

  static async create(opts: AgentCoreOptions): Promise<AgentCore> {
    const keyStore = await KeyBlobStore.open(path.join(opts.dataDir, "keys"));
    const core = new AgentCore(opts, keyStore);
    // Enclaves seen by the previous agent process: if they are gone now, the first poll reports their exit.
    try {
      const seen = JSON.parse(fs.readFileSync(core.seenFile, "utf8")) as Tracked[];
      for (const t of seen) core.tracked.set(t.entry.EnclaveID, { ...t, health: UNKNOWN_HEALTH });
    } catch {
      // first start
    }
    core.events.append({ type: "agent-started", agentVersion: opts.agentVersion });
    core.unsubscribeBackend = opts.backend.subscribe(() => core.pokePoll());
    await core.poll();
    core.pollTimer = setInterval(() => core.pokePoll(), core.pollIntervalMs);
    core.pollTimer.unref();
    return core;
  }

  private log(msg: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(msg, fields);
  }

  // ---------------------------------------------------------------- state polling

  /** Ask for a poll now; overlapping requests collapse into one follow-up poll. */
  pokePoll(): void {
    if (this.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    void this.poll();
  }

  /** One round: describe enclaves, diff into events, probe health. Resolves when done (callers may await). */
  poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      try {
        do {
          this.pollAgain = false;
          await this.pollOnce();
          this.lastPollError = null;
        } while (this.pollAgain && !this.closed);
      } catch (e) {
        this.lastPollError = e as Error;
        this.log("poll failed", { error: (e as Error).message });
      } finally {
        this.polling = null;
      }
    })();
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const entries = await this.opts.backend.describeEnclaves();
    const now = new Date();
    const seen = new Set<string>();
    let changed = false;
    for (const entry of entries) {
      seen.add(entry.EnclaveID);
      const t = this.tracked.get(entry.EnclaveID);
      if (t) {
        t.entry = entry;
        continue;
      }
      const startedAt = (processStartTime(entry.ProcessID) ?? now).toISOString();
      this.tracked.set(entry.EnclaveID, { entry, startedAt, health: UNKNOWN_HEALTH });
      this.exited.delete(entry.EnclaveID);
      changed = true;
      this.events.append({
        type: "enclave-started",
        enclaveId: entry.EnclaveID,
        enclaveCid: entry.EnclaveCID,
        flags: entry.Flags,
      });
    }
    for (const [id, t] of [...this.tracked]) {
      if (seen.has(id)) continue;
      this.tracked.delete(id);
      changed = true;
      const info = this.opts.backend.exitInfo(id);
      const expected = this.expectedExits.delete(id);
      const at = (info?.at ?? now).toISOString();
      this.exited.set(id, {
        ...this.toEnclave(t, now),
        State: "TERMINATED",
        uptimeSeconds: null,
        health: { ...t.health, status: "down", tcp: "down" },
        exit: { at, exitCode: info?.exitCode ?? null, signal: info?.signal ?? null, expected },
      });
      while (this.exited.size > 50) this.exited.delete(this.exited.keys().next().value as string);
      this.events.append({
        type: "enclave-exited",
        enclaveId: id,
        exitCode: info?.exitCode ?? null,
        signal: info?.signal ?? null,
        expected,
      });
    }
    if (changed) this.saveSeen();
    await Promise.all([...this.tracked.values()].map((t) => this.probe(t)));
  }

  private saveSeen(): void {
    const tmp = `${this.seenFile}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify([...this.tracked.values()].map((t) => ({ entry: t.entry, startedAt: t.startedAt }))), { mode: 0o600 });
    fs.renameSync(tmp, this.seenFile);
  }

  private async probe(t: Tracked): Promise<void> {
    const ref = { EnclaveID: t.entry.EnclaveID, EnclaveCID: t.entry.EnclaveCID };
    const targets = this.opts.backend.healthTargets(ref);
    const [tcp, metrics, supervisor] = await Promise.all([
      targets.acra ? probeTcp(targets.acra.host, targets.acra.port, this.probeTimeoutMs) : Promise.resolve(null),
      targets.metricsUrl ? scrapeMetrics(targets.metricsUrl, this.probeTimeoutMs).catch(() => undefined) : Promise.resolve(undefined),
      this.supervisorHealth(ref),
    ]);
    const tcpState: AcraHealth["tcp"] = tcp === null ? "unknown" : tcp ? "up" : "down";
    const own = this.opts.backend.lastLogAt(t.entry.EnclaveID);
    const health: AcraHealth = {
      status: healthVerdict(tcpState, supervisor),
      tcp: tcpState,
      checkedAt: new Date().toISOString(),
      lastLogAt: laterIso(own?.toISOString(), supervisor?.acra.lastLogAt),
      ...(metrics ? { metrics } : t.health.metrics ? { metrics: t.health.metrics } : {}),
      ...(supervisor
        ? {
            supervisor: {
              acraState: supervisor.acra.state,
              restarts: supervisor.acra.restarts,
              keystoreVersion: supervisor.keystoreVersion ?? null,
            },
          }
        : {}),
    };
    const from = t.health.status;
    t.health = health;
    // The enclave may have exited while we probed; only report health of enclaves still tracked.
    if (from !== health.status && this.tracked.get(t.entry.EnclaveID) === t) {
      this.events.append({ type: "health-changed", enclaveId: t.entry.EnclaveID, from, to: health.status, health });
    }
  }

  private async supervisorHealth(ref: { EnclaveID: string; EnclaveCID: number }): Promise<SupervisorHealth | null> {
    try {
      return await this.opts.backend.supervisor(ref).health();
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- reads

  async hostFacts(): Promise<HostFacts> {
    const [nitroCliVersion, allocator] = await Promise.all([this.opts.backend.version(), this.opts.backend.allocator()]);
    return {
      ...this.opts.host,
      agentVersion: this.opts.agentVersion,
      nitroCliVersion,
      backend: this.opts.backend.kind,
      allocator,
      now: new Date().toISOString(),
    };
  }

  private toEnclave(t: Tracked, now: Date): Enclave {
    const e = t.entry;
    return {
      ...(e.EnclaveName !== undefined ? { EnclaveName: e.EnclaveName } : {}),
      EnclaveID: e.EnclaveID,
      ProcessID: e.ProcessID,
      EnclaveCID: e.EnclaveCID,
      NumberOfCPUs: e.NumberOfCPUs,
      CPUIDs: e.CPUIDs,
      MemoryMiB: e.MemoryMiB,
      State: e.State,
      Flags: e.Flags,
      ...(e.Measurements ? { Measurements: e.Measurements } : {}),
      startedAt: t.startedAt,
      uptimeSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(t.startedAt)) / 1000)),
      health: t.health,
    };
  }

  /** Live enclaves (fresh from the backend) followed by recently exited ones. */
  async listEnclaves(): Promise<Enclave[]> {
    await this.poll();
    // A backend that fails (nitro-cli hung or printed garbage) is reported, not papered over with stale data.
    if (this.lastPollError) throw this.lastPollError;
    const now = new Date();
    return [...[...this.tracked.values()].map((t) => this.toEnclave(t, now)), ...[...this.exited.values()].reverse()];
  }

  private async liveEntry(enclaveId: string): Promise<DescribeEnclaveEntry> {
    const entry = (await this.opts.backend.describeEnclaves()).find((e) => e.EnclaveID === enclaveId);
    if (!entry) throw new BackendError("not-found", `no running enclave ${enclaveId}`);
    return entry;
  }

  /** The raw document bytes from the enclave's supervisor, untouched. */
  async attest(enclaveId: string, nonceHex: string): Promise<Buffer> {
    const entry = await this.liveEntry(enclaveId);
    return this.opts.backend.supervisor({ EnclaveID: entry.EnclaveID, EnclaveCID: entry.EnclaveCID }).attest(nonceHex);
  }

  // ---------------------------------------------------------------- operations

  /** Validates semantics, creates (or returns the idempotent twin of) the operation, and queues it. */
  submit(request: ParsedOperationRequest): { operation: Operation; created: boolean } {
    const result = this.operations.createOrGet(request, stepsFor(request));
    if (result.created) {
      const id = result.operation.id;
      this.queue = this.queue.then(() => this.run(id)).catch(() => undefined);
    }
    return result;
  }

  private async run(id: string): Promise<void> {
    const request = this.operations.request(id);
    if (!request || this.closed) return;
    this.operations.update(id, (op) => {
      op.status = "running";
    });
    const ctx: RunContext = { result: {} };
    try {
      for (const step of stepsFor(request)) {
        this.operations.updateStep(id, step, { status: "running", startedAt: new Date().toISOString() });
        let message: string | null = null;
        let skipped = false;
        try {
          const r = await this.runStep(request, step, ctx);
          message = r?.message ?? null;
          skipped = r?.skipped ?? false;
        } catch (e) {
          const err = toStepError(e);
          this.operations.updateStep(id, step, { status: "failed", endedAt: new Date().toISOString(), message: err.message });
          throw err;
        }
        this.operations.updateStep(id, step, {
          status: skipped ? "skipped" : "succeeded",
          endedAt: new Date().toISOString(),
          message,
        });
      }
      this.operations.update(id, (op) => {
        op.status = "succeeded";
        op.result = Object.keys(ctx.result).length ? ctx.result : null;
      });
    } catch (e) {
      const err = toStepError(e);
      this.operations.update(id, (op) => {
        op.status = "failed";
        op.error = { code: err.code, message: err.message };
        op.result = Object.keys(ctx.result).length ? ctx.result : null;
        for (const s of op.steps) if (s.status === "pending") s.status = "skipped";
      });
      this.log("operation failed", { id, error: err.message });
    }
  }

  private async runStep(
    req: ParsedOperationRequest,
    step: string,
    ctx: RunContext,
  ): Promise<{ message?: string; skipped?: boolean } | void> {
    const backend = this.opts.backend;
    switch (step) {
      case "resolve-eif": {
        if (req.kind !== "start" && req.kind !== "redeploy") break;
        ctx.eifPath = await backend.resolveEif(req.params.eifUri);
        return { message: ctx.eifPath };
      }
      case "describe-eif": {
        if (!ctx.eifPath) throw new OperationStepError("internal", "no EIF resolved");
        const d = await backend.describeEif(ctx.eifPath);
        ctx.measurements = d.Measurements;
        return { message: `PCR0 ${d.Measurements.PCR0}` };
      }
      case "check-measurements": {
        if (req.kind !== "start" && req.kind !== "redeploy") break;
        const expected = req.params.expectedMeasurements;
        if (!expected) return { skipped: true, message: "no expected measurements given" };
        const actual = ctx.measurements;
        if (!actual) throw new OperationStepError("internal", "no measurements read");
        const diffs = (["PCR0", "PCR1", "PCR2", "PCR8"] as const).filter((k) => (expected[k] ?? null) !== (actual[k] ?? null));
        if (diffs.length) {
          throw new OperationStepError(
            "measurement-mismatch",
            `image measurements differ from the expected ones in ${diffs.join(", ")} (image PCR0 ${actual.PCR0})`,
          );
        }
        return { message: "PCR0, PCR1, PCR2" + (expected.PCR8 ? ", PCR8" : "") + " match" };
      }
      case "terminate-enclave": {
        const id = req.enclaveId;
        if (!id) throw new OperationStepError("bad-request", "enclaveId required");
        const entry = await this.liveEntry(id);
        ctx.previous = entry;
        this.expectedExits.add(id);
        try {
          await backend.terminateEnclave(id);
        } catch (e) {
          this.expectedExits.delete(id);
          throw e;
        }
        return { message: `terminated ${id}` };
      }
      case "wait-exited": {
        const id = req.enclaveId!;
        const deadline = Date.now() + 30_000;
        for (;;) {
          await this.poll();
          if (!this.tracked.has(id)) return { message: "enclave no longer listed" };
          if (Date.now() > deadline) throw new OperationStepError("backend-timeout", `enclave ${id} still listed`);
          await sleep(200);
        }
      }
      case "run-enclave": {
        if (req.kind !== "start" && req.kind !== "redeploy") break;
        if (!ctx.eifPath) throw new OperationStepError("internal", "no EIF resolved");
        const prev = ctx.previous;
        const p = req.params;
        const cpuCount = p.cpuCount ?? prev?.NumberOfCPUs;
        const memoryMiB = p.memoryMiB ?? prev?.MemoryMiB;
        if (cpuCount === undefined || memoryMiB === undefined) {
          throw new OperationStepError("bad-request", "cpuCount and memoryMiB are required");
        }
        const run = await backend.runEnclave({
          eifPath: ctx.eifPath,
          cpuCount,
          memoryMiB,
          debugMode: p.debugMode,
          // A redeploy keeps the CID, so vsock addressing of the replaced enclave stays valid.
          enclaveCid: req.kind === "start" ? req.params.enclaveCid : prev?.EnclaveCID,
          enclaveName: req.kind === "start" ? req.params.enclaveName : prev?.EnclaveName,
        });
        ctx.newEnclaveId = run.EnclaveID;
        ctx.result.enclaveId = run.EnclaveID;
        ctx.result.enclaveCid = run.EnclaveCID;
        if (prev) ctx.result.replacedEnclaveId = prev.EnclaveID;
        await this.poll();
        return { message: `enclave ${run.EnclaveID} (CID ${run.EnclaveCID})` };
      }
      case "store-blobs": {
        if (req.kind !== "deliver-keys" && req.kind !== "rotate-keys") break;
        const stored: string[] = [];
        for (const b of req.params.blobs) {
          const r = await this.keyStore.put(b.name, req.params.version, Buffer.from(b.ciphertextBase64, "base64"));
          stored.push(`${b.name} v${r.version}${r.changed ? "" : " (already stored)"} sha256 ${r.sha256.slice(0, 16)}`);
        }
        ctx.result.version = req.params.version;
        return { message: stored.join("; ") };
      }
      case "reload-keys": {
        const entry = await this.liveEntry(req.enclaveId!);
        await backend.supervisor({ EnclaveID: entry.EnclaveID, EnclaveCID: entry.EnclaveCID }).control("reload-keys");
        return { message: "supervisor reloading keys" };
      }
      case "wait-healthy": {
        const id = ctx.newEnclaveId ?? req.enclaveId;
        if (!id) throw new OperationStepError("internal", "no enclave to wait for");
        const wantVersion =
          req.kind === "rotate-keys" && req.params.blobs.some((b) => b.name === "keystore") ? req.params.version : null;
        const deadline = Date.now() + this.waitHealthyTimeoutMs;
        for (;;) {
          await this.poll();
          const t = this.tracked.get(id);
          if (!t) {
            const exit = this.exited.get(id)?.exit;
            throw new OperationStepError("enclave-exited", `enclave ${id} exited (code ${exit?.exitCode ?? "unknown"}) before becoming healthy`);
          }
          const versionOk =
            wantVersion === null || t.health.supervisor?.keystoreVersion == null || t.health.supervisor.keystoreVersion >= wantVersion;
          if (t.health.status === "healthy" && versionOk) {
            return { message: `healthy${wantVersion !== null ? `, keystore v${t.health.supervisor?.keystoreVersion ?? "?"}` : ""}` };
          }
          if (Date.now() > deadline) {
            throw new OperationStepError("backend-timeout", `enclave ${id} not healthy after ${this.waitHealthyTimeoutMs} ms (status ${t.health.status})`);
          }
          await sleep(Math.min(500, this.pollIntervalMs));
        }
      }
    }
    throw new OperationStepError("internal", `step ${step} does not apply to ${req.kind}`);
  }

  async close(opts?: { terminateEnclaves?: boolean }): Promise<void> {
    this.closed = true;
    // Enclaves terminated by a shutdown are the agent's doing, not crashes.
    if (opts?.terminateEnclaves) for (const id of this.tracked.keys()) this.expectedExits.add(id);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.unsubscribeBackend();
    await this.polling;
    await this.opts.backend.close(opts);
  }
}

interface RunContext {
  eifPath?: string;
  measurements?: { PCR0: string; PCR1: string; PCR2: string; PCR8?: string };
  previous?: DescribeEnclaveEntry;
  newEnclaveId?: string;
  result: Record<string, string | number | boolean | null>;
}

export function stepsFor(req: ParsedOperationRequest): string[] {
  switch (req.kind) {
    case "start":
      return ["resolve-eif", "describe-eif", "check-measurements", "run-enclave", "wait-healthy"];
    case "stop":
      return ["terminate-enclave", "wait-exited"];
    case "redeploy":
      // Measurements are checked before the running enclave is touched: a wrong image never replaces a good one.
      return ["resolve-eif", "describe-eif", "check-measurements", "terminate-enclave", "run-enclave", "wait-healthy"];
    case "deliver-keys":
      return ["store-blobs"];
    case "rotate-keys":
      return ["store-blobs", "reload-keys", "wait-healthy"];
  }
}

function toStepError(e: unknown): OperationStepError {
  if (e instanceof OperationStepError) return e;
  if (e instanceof BackendError || e instanceof SupervisorLinkError || e instanceof KeyStoreError) {
    return new OperationStepError(e.code, e.message);
  }
  if (e instanceof IdempotencyConflictError) return new OperationStepError(e.code, e.message);
  return new OperationStepError("internal", e instanceof Error ? e.message : String(e));
}

/**
 * The production backend: drives `nitro-cli` on a Nitro parent instance and reaches the in-enclave supervisor over
 * vsock (through socat) or over the TCP port Enclaver publishes for the supervisor's ingress.
 */
import fs from "node:fs/promises";
import {
  BackendError,
  resolveLocalEif,
  type BackendRunRequest,
  type EnclaveExitInfo,
  type EnclaveRef,
  type HealthTargets,
  type NitroBackend,
} from "./backend";
import { CommandError, runCommand } from "./exec";
import {
  NitroCliOutputError,
  parseAllocatorYaml,
  parseDescribeEif,
  parseDescribeEnclaves,
  parseNitroCliVersion,
  parseRunEnclave,
  parseTerminateEnclave,
  type DescribeEifOutput,
  type DescribeEnclaveEntry,
  type RunEnclaveOutput,
  type TerminateEnclaveOutput,
} from "./nitro-cli-output";
import { SocatVsockConnector, SupervisorClient, tcpConnector, type VsockConnector } from "./supervisor-link";

export type SupervisorTransport = { kind: "vsock"; port: number } | { kind: "tcp"; host: string; port: number };

export interface RealNitroCliBackendOptions {
  nitroCliPath?: string;
  /** Per-command timeouts (ms). run-enclave allocates memory and boots, so it gets the longest. */
  timeouts?: Partial<Record<"version" | "describe" | "run" | "terminate" | "describeEif", number>>;
  allocatorYamlPath?: string;
  /** Folders EIFs may be run from (defence against a console asking to run an arbitrary file). */
  eifDirs?: string[];
  supervisor: SupervisorTransport;
  controlToken?: string;
  supervisorTimeoutMs?: number;
  vsockConnector?: VsockConnector;
  /** acra-server's port and metrics as published on the host by Enclaver's ingress. */
  acra?: { host: string; port: number; metricsUrl?: string };
}

const DEFAULT_TIMEOUTS = { version: 5_000, describe: 10_000, run: 180_000, terminate: 60_000, describeEif: 60_000 };

export class RealNitroCliBackend implements NitroBackend {
  readonly kind = "nitro-cli" as const;
  private readonly cli: string;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;
  private readonly vsock: VsockConnector;

  constructor(private readonly opts: RealNitroCliBackendOptions) {
    this.cli = opts.nitroCliPath ?? "nitro-cli";
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.vsock = opts.vsockConnector ?? new SocatVsockConnector();
  }

  /** Runs nitro-cli and hands stdout (only) to `parse`; command and parse failures become BackendErrors. */
  private async cliJson<T>(args: string[], timeoutMs: number, parse: (stdout: string) => T): Promise<T> {
    let stdout: string;
    try {
      ({ stdout } = await runCommand(this.cli, args, { timeoutMs }));
    } catch (e) {
      if (e instanceof CommandError) {
        throw new BackendError(e.code === "command-timeout" ? "backend-timeout" : "backend-error", e.message);
      }
      throw e;
    }
    try {
      return parse(stdout);
    } catch (e) {
      if (e instanceof NitroCliOutputError) throw new BackendError("backend-error", e.message);
      throw e;
    }
  }

  version(): Promise<string> {
    return this.cliJson(["--version"], this.timeouts.version, parseNitroCliVersion);
  }

  async allocator(): Promise<{ cpus: number; memoryMiB: number }> {
    const file = this.opts.allocatorYamlPath ?? "/etc/nitro_enclaves/allocator.yaml";
    return parseAllocatorYaml(await fs.readFile(file, "utf8"));
  }

  describeEnclaves(): Promise<DescribeEnclaveEntry[]> {
    return this.cliJson(["describe-enclaves"], this.timeouts.describe, parseDescribeEnclaves);
  }

  resolveEif(uri: string): Promise<string> {
    return resolveLocalEif(uri, this.opts.eifDirs);
  }

  describeEif(eifPath: string): Promise<DescribeEifOutput> {
    return this.cliJson(["describe-eif", "--eif-path", eifPath], this.timeouts.describeEif, parseDescribeEif);
  }

  runEnclave(req: BackendRunRequest): Promise<RunEnclaveOutput> {
    return this.cliJson(buildRunEnclaveArgs(req), this.timeouts.run, parseRunEnclave);
  }

  async terminateEnclave(enclaveId: string): Promise<TerminateEnclaveOutput> {
    const out = await this.cliJson(
      ["terminate-enclave", "--enclave-id", enclaveId],
      this.timeouts.terminate,
      parseTerminateEnclave,
    );
    if (!out.Terminated) throw new BackendError("backend-error", `nitro-cli reports enclave ${enclaveId} not terminated`);
    return out;
  }

  supervisor(enclave: EnclaveRef): SupervisorClient {
    const t = this.opts.supervisor;
    const connect =
      t.kind === "vsock" ? () => this.vsock.connect(enclave.EnclaveCID, t.port) : tcpConnector(t.host, t.port);
    return new SupervisorClient(connect, this.opts.controlToken, this.opts.supervisorTimeoutMs ?? 5000);
  }

  healthTargets(_enclave: EnclaveRef): HealthTargets {
    const a = this.opts.acra;
    return a ? { acra: { host: a.host, port: a.port }, metricsUrl: a.metricsUrl } : {};
  }

  /** nitro-cli gives no log stream; the supervisor's health reports acra's last log line instead. */
  lastLogAt(_enclaveId: string): Date | null {
    return null;
  }

  /** nitro-cli does not report how an enclave ended. */
  exitInfo(_enclaveId: string): EnclaveExitInfo | undefined {
    return undefined;
  }

  subscribe(_listener: () => void): () => void {
    // No push source on a real host: the agent's poll of describe-enclaves notices exits.
    return () => undefined;
  }

  async close(opts?: { terminateEnclaves?: boolean }): Promise<void> {
    if (!opts?.terminateEnclaves) return;
    for (const e of await this.describeEnclaves()) await this.terminateEnclave(e.EnclaveID);
  }
}

/** Argument array for `nitro-cli run-enclave`; `--debug-mode` only when explicitly asked for. */
export function buildRunEnclaveArgs(req: BackendRunRequest): string[] {
  const args = [
    "run-enclave",
    "--eif-path",
    req.eifPath,
    "--cpu-count",
    String(req.cpuCount),
    "--memory",
    String(req.memoryMiB),
  ];
  if (req.enclaveCid !== undefined) args.push("--enclave-cid", String(req.enclaveCid));
  if (req.enclaveName !== undefined) args.push("--enclave-name", req.enclaveName);
  if (req.debugMode === true) args.push("--debug-mode");
  return args;
}

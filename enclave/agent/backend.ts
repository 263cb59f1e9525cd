/**
 * The seam between the agent and whatever really runs enclaves: `RealNitroCliBackend` (nitro-cli + vsock on a
 * Nitro parent instance) and `SimulatedNitroBackend` (lab: one child process per enclave). Both speak nitro-cli's
 * JSON shapes so the agent core cannot tell them apart.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BackendKind } from "@/lib/fleet/agent-protocol";
import type {
  DescribeEifOutput,
  DescribeEnclaveEntry,
  RunEnclaveOutput,
  TerminateEnclaveOutput,
} from "./nitro-cli-output";
import type { SupervisorClient } from "./supervisor-link";

export interface BackendRunRequest {
  eifPath: string;
  cpuCount: number;
  memoryMiB: number;
  enclaveCid?: number;
  enclaveName?: string;
  debugMode: boolean;
}

export interface EnclaveExitInfo {
  exitCode: number | null;
  signal: string | null;
  at: Date;
}

/** Where the agent probes acra-server from the host (Enclaver publishes ingress ports on the host). */
export interface HealthTargets {
  acra?: { host: string; port: number };
  metricsUrl?: string;
}

export interface EnclaveRef {
  EnclaveID: string;
  EnclaveCID: number;
}

export interface NitroBackend {
  readonly kind: BackendKind;
  version(): Promise<string>;
  allocator(): Promise<{ cpus: number; memoryMiB: number }>;
  /** Live enclaves, exactly as `nitro-cli describe-enclaves` lists them. */
  describeEnclaves(): Promise<DescribeEnclaveEntry[]>;
  /** Turns an operation's eifUri into a local path the backend may use; refuses anything else. */
  resolveEif(uri: string): Promise<string>;
  describeEif(eifPath: string): Promise<DescribeEifOutput>;
  runEnclave(req: BackendRunRequest): Promise<RunEnclaveOutput>;
  terminateEnclave(enclaveId: string): Promise<TerminateEnclaveOutput>;
  supervisor(enclave: EnclaveRef): SupervisorClient;
  healthTargets(enclave: EnclaveRef): HealthTargets;
  /** Last log line the backend itself saw (simulator); null when it does not see logs (real: ask the supervisor). */
  lastLogAt(enclaveId: string): Date | null;
  /** How an enclave ended, when the backend can know (a child's exit code); undefined otherwise. */
  exitInfo(enclaveId: string): EnclaveExitInfo | undefined;
  /** Called when the backend notices a change on its own (a child exited), so the agent re-reads state now. */
  subscribe(listener: () => void): () => void;
  close(opts?: { terminateEnclaves?: boolean }): Promise<void>;
}

export class BackendError extends Error {
  constructor(
    readonly code: "backend-error" | "backend-timeout" | "not-found" | "bad-request",
    message: string,
  ) {
    super(message);
    this.name = "BackendError";
  }
}

/**
 * Accepts an absolute path or a file:// URI to an existing regular file, inside one of `allowedDirs` when given.
 * Remote URIs (s3://, https://) are refused on purpose: the agent does not fetch images, they are staged on the
 * host by the deployment pipeline and their measurements are checked before running.
 */
export async function resolveLocalEif(uri: string, allowedDirs: readonly string[] | undefined): Promise<string> {
  let p: string;
  if (uri.startsWith("file://")) {
    try {
      p = fileURLToPath(uri);
    } catch {
      throw new BackendError("bad-request", `not a valid file URI: ${uri}`);
    }
  } else if (path.isAbsolute(uri)) {
    p = uri;
  } else {
    throw new BackendError("bad-request", `EIF location must be an absolute path or file:// URI (got ${uri.slice(0, 80)})`);
  }
  p = path.resolve(p);
  if (allowedDirs && allowedDirs.length > 0) {
    const real = await fs.realpath(p).catch(() => p);
    const inside = allowedDirs.some((d) => {
      const rel = path.relative(path.resolve(d), real);
      return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
    });
    if (!inside) throw new BackendError("bad-request", `EIF ${p} is outside the allowed image folders`);
  }
  const st = await fs.stat(p).catch(() => null);
  if (!st?.isFile()) throw new BackendError("not-found", `EIF ${p} does not exist`);
  return p;
}

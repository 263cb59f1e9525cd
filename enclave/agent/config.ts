/**
 * The agent's configuration file (JSON), read by enclave/agent/main.ts. Relative paths are resolved against the
 * folder holding the file. See README.md for a full example of each backend.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

const listenSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(0),
});

const awsSchema = z.object({
  endpoint: z.string().url(),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});

/** Where the lines the simulator relays go: a file, or a factory exported by a module (the lab's log shipper). */
export const logSinkSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("file"), path: z.string() }),
  z.object({
    kind: z.literal("module"),
    /** Module path; it must export `export` (default "createLogSink"): (options) => (enclaveId, line) => void. */
    module: z.string(),
    export: z.string().default("createLogSink"),
    options: z.record(z.string(), z.unknown()).default({}),
  }),
]);
export type LogSinkConfig = z.infer<typeof logSinkSchema>;

export const nitroCliBackendConfigSchema = z.object({
  kind: z.literal("nitro-cli"),
  nitroCliPath: z.string().default("nitro-cli"),
  allocatorYamlPath: z.string().default("/etc/nitro_enclaves/allocator.yaml"),
  eifDirs: z.array(z.string()).optional(),
  timeoutsMs: z
    .object({
      version: z.number().int().positive(),
      describe: z.number().int().positive(),
      run: z.number().int().positive(),
      terminate: z.number().int().positive(),
      describeEif: z.number().int().positive(),
    })
    .partial()
    .optional(),
  /** vsock straight to the supervisor (via socat), or the host TCP port Enclaver publishes for its ingress. */
  supervisor: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("vsock"), port: z.number().int().min(1), socatPath: z.string().default("socat") }),
    z.object({ kind: z.literal("tcp"), host: z.string().default("127.0.0.1"), port: z.number().int().min(1).max(65535) }),
  ]),
  /** File holding the shared control token (kept out of the config so the config can be world-readable). */
  controlTokenFile: z.string().optional(),
  supervisorTimeoutMs: z.number().int().positive().default(5000),
  acra: z.object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(1).max(65535), metricsUrl: z.string().url().optional() }).optional(),
});

export const simulatorBackendConfigSchema = z.object({
  kind: z.literal("simulator"),
  labCaDir: z.string(),
  aws: awsSchema,
  kmsKeyId: z.string().min(1),
  acra: z.object({ logFormat: z.enum(["plaintext", "json", "cef"]).default("json"), clientId: z.string().min(1) }),
  allocator: z.object({ cpus: z.number().int().positive(), memoryMiB: z.number().int().positive() }),
  eifDirs: z.array(z.string()).optional(),
  /** Replaces the lab's simulated-enclave.ts (tests use a stand-in that obeys the same contract). */
  enclaveCommand: z.object({ command: z.string(), args: z.array(z.string()), cwd: z.string().optional() }).optional(),
  bootTimeoutMs: z.number().int().positive().optional(),
  logSink: logSinkSchema.optional(),
});

export const agentConfigSchema = z.object({
  hostId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  dataDir: z.string(),
  listen: listenSchema.default({ host: "127.0.0.1", port: 0 }),
  /** Bring-your-own certificate files, or a lab folder where ensureLabAgentCerts creates them. */
  tls: z.union([
    z.object({ certFile: z.string(), keyFile: z.string(), clientCaFile: z.string() }),
    z.object({ labCertsDir: z.string() }),
  ]),
  host: z.object({
    instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
    region: z.string().min(1),
    availabilityZone: z.string().min(1),
    roleArn: z.string().startsWith("arn:"),
  }),
  /** Plain-HTTP listener where the enclave's supervisor fetches its opaque key blobs (never on a public address). */
  keyStoreListen: listenSchema.default({ host: "127.0.0.1", port: 0 }),
  pollIntervalMs: z.number().int().positive().default(2000),
  probeTimeoutMs: z.number().int().positive().default(1000),
  waitHealthyTimeoutMs: z.number().int().positive().default(60_000),
  streamHeartbeatMs: z.number().int().positive().default(10_000),
  /** On SIGTERM, also terminate the enclaves (lab teardown). A real host keeps enclaves running across agent restarts. */
  terminateEnclavesOnShutdown: z.boolean().default(false),
  backend: z.discriminatedUnion("kind", [nitroCliBackendConfigSchema, simulatorBackendConfigSchema]),
});
export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

function resolveIn(base: string, p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(base, p);
}

/** Reads and validates a config file; relative paths become absolute against the file's folder. */
export function loadAgentConfig(file: string): AgentConfig {
  const base = path.dirname(path.resolve(file));
  const cfg = agentConfigSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  cfg.dataDir = resolveIn(base, cfg.dataDir);
  if ("labCertsDir" in cfg.tls) cfg.tls.labCertsDir = resolveIn(base, cfg.tls.labCertsDir);
  else {
    cfg.tls.certFile = resolveIn(base, cfg.tls.certFile);
    cfg.tls.keyFile = resolveIn(base, cfg.tls.keyFile);
    cfg.tls.clientCaFile = resolveIn(base, cfg.tls.clientCaFile);
  }
  const b = cfg.backend;
  if (b.eifDirs) b.eifDirs = b.eifDirs.map((d) => resolveIn(base, d));
  if (b.kind === "simulator") {
    b.labCaDir = resolveIn(base, b.labCaDir);
    if (b.logSink?.kind === "file") b.logSink.path = resolveIn(base, b.logSink.path);
    if (b.logSink?.kind === "module") b.logSink.module = resolveIn(base, b.logSink.module);
  } else {
    if (b.controlTokenFile) b.controlTokenFile = resolveIn(base, b.controlTokenFile);
  }
  return cfg;
}

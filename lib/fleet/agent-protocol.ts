/**
 * The host agent's versioned HTTP API (`/v1/...`): zod schemas and inferred types, shared by the console
 * (lib/fleet/agent-client.ts) and the agent (enclave/agent/). Pure: no I/O and no server-only import, so both sides
 * and the browser-facing code can use it.
 *
 * Field names of enclave descriptions follow `nitro-cli describe-enclaves` exactly (EnclaveID, EnclaveCID, ...), so
 * an operator can compare the console with what they see on the host. Everything the agent adds on top is camelCase.
 */
import { z } from "zod";

export const AGENT_API_VERSION = "v1" as const;

/** Media types. NDJSON is the default for streams; SSE is served when the client asks for text/event-stream. */
export const CBOR_MEDIA_TYPE = "application/cbor";
export const NDJSON_MEDIA_TYPE = "application/x-ndjson";
export const SSE_MEDIA_TYPE = "text/event-stream";

const isoTime = z.string().datetime({ offset: true });

/** A SHA-384 measurement as nitro-cli prints it: 96 hex characters, normalised to lower case. */
export const pcrHexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{96}$/, "expected a SHA-384 value as 96 hex characters")
  .transform((s) => s.toLowerCase());

/** The flattened `Measurements` object of describe-enclaves / describe-eif / build-enclave. */
export const measurementsSchema = z.object({
  /** Literally "Sha384 { ... }" from nitro-cli (Rust Debug formatting); kept as printed. */
  HashAlgorithm: z.string(),
  PCR0: pcrHexSchema,
  PCR1: pcrHexSchema,
  PCR2: pcrHexSchema,
  PCR8: pcrHexSchema.optional(),
});
export type Measurements = z.infer<typeof measurementsSchema>;

/** What a redeploy expects the new image to measure (HashAlgorithm is implied: SHA-384). */
export const expectedMeasurementsSchema = z.object({
  PCR0: pcrHexSchema,
  PCR1: pcrHexSchema,
  PCR2: pcrHexSchema,
  PCR8: pcrHexSchema.optional(),
});
export type ExpectedMeasurements = z.infer<typeof expectedMeasurementsSchema>;

// ---------------------------------------------------------------------------------------------------------------
// GET /v1/host

export const backendKindSchema = z.enum(["nitro-cli", "enclaver", "simulator"]);
export type BackendKind = z.infer<typeof backendKindSchema>;

export const hostFactsSchema = z.object({
  instanceId: z.string().min(1),
  region: z.string().min(1),
  availabilityZone: z.string().min(1),
  roleArn: z.string().min(1),
  agentVersion: z.string().min(1),
  nitroCliVersion: z.string().min(1),
  /** Which backend drives the enclaves; "simulator" means a lab host (never real Nitro hardware). */
  backend: backendKindSchema,
  /** Resources reserved by the Nitro Enclaves allocator (/etc/nitro_enclaves/allocator.yaml on a real host). */
  allocator: z.object({ cpus: z.number().int().nonnegative(), memoryMiB: z.number().int().nonnegative() }),
  /** Agent clock, so the console can spot skew. */
  now: isoTime,
});
export type HostFacts = z.infer<typeof hostFactsSchema>;

// ---------------------------------------------------------------------------------------------------------------
// GET /v1/enclaves

/** nitro-cli states, plus TERMINATED for an enclave the agent saw exit (nitro-cli simply stops listing it). */
export const enclaveStateSchema = z.enum(["RUNNING", "TERMINATING", "EMPTY", "TERMINATED"]);
export type EnclaveState = z.infer<typeof enclaveStateSchema>;

export const enclaveFlagsSchema = z.enum(["NONE", "DEBUG_MODE"]);

/** Numbers picked from acra-server's Prometheus text; absent when the metric was not exposed. */
export const acraMetricsSchema = z.object({
  scrapedAt: isoTime,
  connectionsTotal: z.number().optional(),
  decryptionsSuccess: z.number().optional(),
  decryptionsFail: z.number().optional(),
  encryptionsSuccess: z.number().optional(),
  encryptionsFail: z.number().optional(),
  version: z.string().optional(),
});
export type AcraMetrics = z.infer<typeof acraMetricsSchema>;

export const healthStatusSchema = z.enum(["healthy", "degraded", "down", "unknown"]);
export type HealthStatus = z.infer<typeof healthStatusSchema>;

export const acraHealthSchema = z.object({
  /** Overall verdict: healthy = TCP accepts (and supervisor says up when reachable); down = no TCP accept. */
  status: healthStatusSchema,
  /** Does acra-server's port accept a TCP connection (the only liveness signal Acra offers)? */
  tcp: z.enum(["up", "down", "unknown"]),
  checkedAt: isoTime.nullable(),
  metrics: acraMetricsSchema.optional(),
  /** Time of the last log line seen from the enclave (agent's own view or the supervisor's, whichever is later). */
  lastLogAt: isoTime.nullable(),
  /** What the in-enclave supervisor reports, when its health endpoint answered. */
  supervisor: z
    .object({
      acraState: z.enum(["up", "down", "starting"]),
      restarts: z.number().int().nonnegative(),
      keystoreVersion: z.number().int().nonnegative().nullable(),
    })
    .optional(),
});
export type AcraHealth = z.infer<typeof acraHealthSchema>;

export const enclaveExitSchema = z.object({
  at: isoTime,
  /** null when the agent could not learn it (a real enclave's exit code is not reported by nitro-cli). */
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** true when the agent itself terminated it (stop/redeploy), false for a crash. */
  expected: z.boolean(),
});

export const enclaveSchema = z.object({
  EnclaveName: z.string().optional(),
  EnclaveID: z.string().min(1),
  ProcessID: z.number().int().nonnegative(),
  EnclaveCID: z.number().int().nonnegative(),
  NumberOfCPUs: z.number().int().nonnegative(),
  CPUIDs: z.array(z.number().int().nonnegative()),
  MemoryMiB: z.number().int().nonnegative(),
  State: enclaveStateSchema,
  Flags: enclaveFlagsSchema,
  /** Computed from the EIF on the host: NOT zeroed for DEBUG_MODE (only the attestation document's PCRs are). */
  Measurements: measurementsSchema.optional(),
  startedAt: isoTime.nullable(),
  uptimeSeconds: z.number().nonnegative().nullable(),
  health: acraHealthSchema,
  exit: enclaveExitSchema.optional(),
});
export type Enclave = z.infer<typeof enclaveSchema>;

export const enclaveListSchema = z.object({ enclaves: z.array(enclaveSchema), observedAt: isoTime });
export type EnclaveList = z.infer<typeof enclaveListSchema>;

// ---------------------------------------------------------------------------------------------------------------
// POST /v1/enclaves/:id/attestation   -> 200 application/cbor, the raw document bytes, untouched

/** 32..128 random bytes as hex: long enough to be unguessable, short enough for the document's 1024-byte field. */
export const attestationRequestSchema = z.object({
  nonce: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{2}){32,128}$/, "nonce must be 32 to 128 bytes as hex")
    .transform((s) => s.toLowerCase()),
});
export type AttestationRequest = z.input<typeof attestationRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Operations

export const operationKindSchema = z.enum(["start", "stop", "redeploy", "deliver-keys", "rotate-keys"]);
export type OperationKind = z.infer<typeof operationKindSchema>;

export const operationStatusSchema = z.enum(["pending", "running", "succeeded", "failed"]);
export type OperationStatus = z.infer<typeof operationStatusSchema>;

export const stepStatusSchema = z.enum(["pending", "running", "succeeded", "failed", "skipped"]);
export type StepStatus = z.infer<typeof stepStatusSchema>;

export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,200}$/, "idempotencyKey: 8 to 200 characters of [A-Za-z0-9._:-]");

const enclaveIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "not an enclave id");

/** Where the EIF is: an absolute path on the host or a file:// URI (stage images on the host first). */
const eifUriSchema = z.string().min(1).max(4096);

export const startParamsSchema = z.object({
  eifUri: eifUriSchema,
  cpuCount: z.number().int().min(1).max(256),
  memoryMiB: z.number().int().min(64).max(1024 * 1024),
  enclaveCid: z.number().int().min(4).max(0xffffffff).optional(),
  enclaveName: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  /** Debug mode zeroes PCR0/1/2 in attestation documents; only ever on explicit request. */
  debugMode: z.boolean().default(false),
  /** When given, the image is refused unless describe-eif reports exactly these. */
  expectedMeasurements: expectedMeasurementsSchema.optional(),
});

export const redeployParamsSchema = z.object({
  eifUri: eifUriSchema,
  expectedMeasurements: expectedMeasurementsSchema,
  /** Default: the resources of the enclave being replaced. */
  cpuCount: z.number().int().min(1).max(256).optional(),
  memoryMiB: z.number().int().min(64).max(1024 * 1024).optional(),
  debugMode: z.boolean().default(false),
});

export const keyBlobNameSchema = z.enum(["master-key", "keystore"]);
export type KeyBlobName = z.infer<typeof keyBlobNameSchema>;

const base64Schema = z
  .string()
  .min(4)
  .max(16 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "expected standard base64")
  .refine((s) => s.length % 4 === 0, "base64 length must be a multiple of 4");

/** Opaque KMS ciphertext: the agent stores and forwards these bytes, it can never decrypt them. */
export const keyBlobsParamsSchema = z.object({
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  blobs: z
    .array(z.object({ name: keyBlobNameSchema, ciphertextBase64: base64Schema }))
    .min(1)
    .max(2)
    .refine((b) => new Set(b.map((x) => x.name)).size === b.length, "each blob name at most once"),
});
export type KeyBlobsParams = z.infer<typeof keyBlobsParamsSchema>;

const opBase = { idempotencyKey: idempotencyKeySchema };

export const operationRequestSchema = z.discriminatedUnion("kind", [
  z.object({ ...opBase, kind: z.literal("start"), enclaveId: z.undefined().optional(), params: startParamsSchema }),
  z.object({ ...opBase, kind: z.literal("stop"), enclaveId: enclaveIdSchema, params: z.object({}).strict().default({}) }),
  z.object({ ...opBase, kind: z.literal("redeploy"), enclaveId: enclaveIdSchema, params: redeployParamsSchema }),
  z.object({ ...opBase, kind: z.literal("deliver-keys"), enclaveId: z.undefined().optional(), params: keyBlobsParamsSchema }),
  z.object({ ...opBase, kind: z.literal("rotate-keys"), enclaveId: enclaveIdSchema, params: keyBlobsParamsSchema }),
]);
export type OperationRequest = z.input<typeof operationRequestSchema>;
export type ParsedOperationRequest = z.output<typeof operationRequestSchema>;

export const operationStepSchema = z.object({
  name: z.string().min(1),
  status: stepStatusSchema,
  startedAt: isoTime.nullable(),
  endedAt: isoTime.nullable(),
  message: z.string().nullable(),
});
export type OperationStep = z.infer<typeof operationStepSchema>;

export const operationSchema = z.object({
  id: z.string().min(1),
  kind: operationKindSchema,
  enclaveId: z.string().nullable(),
  idempotencyKey: idempotencyKeySchema,
  status: operationStatusSchema,
  createdAt: isoTime,
  updatedAt: isoTime,
  steps: z.array(operationStepSchema),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** Facts the operation produced, e.g. the new enclave's id after start/redeploy. */
  result: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
});
export type Operation = z.infer<typeof operationSchema>;

export function isTerminalStatus(status: OperationStatus): boolean {
  return status === "succeeded" || status === "failed";
}

/** POST /v1/operations answers 201 (new) or 200 (same idempotency key and body: the existing operation). */
export const operationResponseSchema = z.object({ operation: operationSchema, created: z.boolean() });
export type OperationResponse = z.infer<typeof operationResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// GET /v1/events?since=<id>  (NDJSON or SSE; ids increase by one, persist across agent restarts)

const eventBase = { id: z.number().int().positive(), at: isoTime };

export const agentEventSchema = z.discriminatedUnion("type", [
  z.object({ ...eventBase, type: z.literal("agent-started"), agentVersion: z.string() }),
  z.object({
    ...eventBase,
    type: z.literal("enclave-started"),
    enclaveId: z.string(),
    enclaveCid: z.number().int().nonnegative(),
    flags: enclaveFlagsSchema,
  }),
  z.object({
    ...eventBase,
    type: z.literal("enclave-exited"),
    enclaveId: z.string(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    expected: z.boolean(),
  }),
  z.object({
    ...eventBase,
    type: z.literal("health-changed"),
    enclaveId: z.string(),
    from: healthStatusSchema,
    to: healthStatusSchema,
    health: acraHealthSchema,
  }),
  /** The agent no longer holds events after `since`; the client should re-read current state. */
  z.object({ ...eventBase, type: z.literal("events-lost"), oldestAvailableId: z.number().int().nonnegative() }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;
export type AgentEventType = AgentEvent["type"];

/** Distributive Omit, so each member of the union keeps its own fields. */
export type AgentEventInput = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, "id" | "at"> : never) : never;

// ---------------------------------------------------------------------------------------------------------------
// Errors: every non-2xx JSON answer has this shape.

export const agentErrorCodeSchema = z.enum([
  "bad-request",
  "not-found",
  "idempotency-conflict",
  "backend-error",
  "backend-timeout",
  "enclave-unreachable",
  "internal",
]);
export const agentErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type AgentErrorBody = z.infer<typeof agentErrorBodySchema>;

/** Paths, in one place so client and server cannot drift. */
export const agentPaths = {
  host: "/v1/host",
  enclaves: "/v1/enclaves",
  attestation: (enclaveId: string) => `/v1/enclaves/${encodeURIComponent(enclaveId)}/attestation`,
  operations: "/v1/operations",
  operation: (id: string) => `/v1/operations/${encodeURIComponent(id)}`,
  operationStream: (id: string) => `/v1/operations/${encodeURIComponent(id)}/stream`,
  events: (since?: number) => (since === undefined ? "/v1/events" : `/v1/events?since=${since}`),
} as const;

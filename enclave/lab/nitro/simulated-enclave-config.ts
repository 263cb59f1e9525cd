import { z } from "zod";

/**
 * Configuration of one simulated Nitro enclave (one child process), written as JSON by the agent's simulator backend
 * and read by `simulated-enclave.ts --config <path>`. Shape fixed by /work/lab-contract.md; do not change field names
 * without telling the agent and acra-sim owners.
 */

const hex = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${bytes} bytes as hex`)
    .transform((s) => s.toLowerCase());

const port = z.number().int().min(1).max(65535);

export const simulatedEnclaveConfigSchema = z.object({
  enclaveId: z.string().min(1),
  enclaveCid: z.number().int().nonnegative(),
  parentInstanceId: z.string().min(1),
  roleArn: z.string().min(1),
  region: z.string().min(1),
  debugMode: z.boolean(),
  /** What the "EIF" would measure: SHA-384 values (48 bytes each), hex. */
  measurements: z.object({
    pcr0: hex(48),
    pcr1: hex(48),
    pcr2: hex(48),
    pcr8: hex(48).optional(),
  }),
  /** Folder holding the lab CA chain files, created/reused by `ensureLabCa(dir)`. */
  labCaDir: z.string().min(1),
  /** TCP port standing in for the vsock ingress: attestation + health + control API. */
  supervisorPort: port,
  odynApiPort: port,
  kmsProxyPort: port,
  /** Base URL on the agent; the supervisor GETs `<url>/master-key` and `<url>/keystore`. */
  hostKeyStoreUrl: z.string().url(),
  /** Shared secret the agent presents as `Authorization: Bearer <token>` on control requests. */
  controlToken: z.string().min(16),
  aws: z.object({
    endpoint: z.string().url(),
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
  }),
  kmsKeyId: z.string().min(1),
  acra: z.object({
    port,
    metricsPort: port,
    controlPort: port,
    logFormat: z.enum(["plaintext", "json", "cef"]),
    clientId: z.string().min(1),
  }),
});

/** Parsed config (hex fields lower-cased). */
export type SimulatedEnclaveConfig = z.infer<typeof simulatedEnclaveConfigSchema>;
/** What the writer (agent) produces before parsing. */
export type SimulatedEnclaveConfigInput = z.input<typeof simulatedEnclaveConfigSchema>;

import { z } from "zod";

/**
 * Supervisor configuration. In production it is a JSON file baked into the image (so it is part of PCR0/PCR2);
 * in the lab the simulated enclave builds it from its own config. Same code either way.
 */
const port = z.number().int().min(1).max(65535);

export const supervisorConfigSchema = z.object({
  /** Ingress port for attestation, health and control (Enclaver maps a vsock ingress to it). */
  port: port.default(8443),
  listenHost: z.string().default("127.0.0.1"),
  /** Odyn's internal API (`api.listen_port` in enclaver.yaml). */
  odynApiUrl: z.string().url().default("http://127.0.0.1:9000"),
  /** Odyn's KMS proxy (`kms_proxy.listen_port`); Odyn also exports it as AWS_KMS_ENDPOINT. */
  kmsEndpoint: z.string().url().default("http://127.0.0.1:9999"),
  region: z.string().min(1),
  kmsKeyId: z.string().min(1),
  /** Base URL on the host: GET <url>/master-key and <url>/keystore -> {ciphertextBase64, version}; 404 = absent. */
  hostKeyStoreUrl: z.string().url(),
  /** HTTP proxy for reaching the host (Enclaver's egress proxy, http://127.0.0.1:10000); unset in the lab. */
  hostProxyUrl: z.string().url().optional(),
  /** Bearer token for /v1/control/*; at least 128 bits. */
  controlToken: z.string().min(16),
  acra: z.object({
    /** argv of acra-server (production) or of the simulator (lab). */
    command: z.array(z.string().min(1)).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** TCP port acra-server accepts on: a successful connect means "up" (acra-server has no health endpoint). */
    healthPort: port,
    /** Where the keystore files are written (tmpfs inside the enclave). Default: a fresh private temp folder. */
    keysDir: z.string().optional(),
  }),
  timing: z
    .object({
      keysRetryMs: z.number().int().positive().default(2000),
      restartMinMs: z.number().int().positive().default(500),
      restartMaxMs: z.number().int().positive().default(30_000),
      /** A child that stayed up this long gets its backoff reset. */
      stableAfterMs: z.number().int().positive().default(30_000),
      healthPollMs: z.number().int().positive().default(200),
    })
    .prefault({}),
  /** Lab only: enables POST /v1/control/crash. Never set in the production config. */
  labControls: z.boolean().default(false),
});

export type SupervisorConfig = z.infer<typeof supervisorConfigSchema>;
export type SupervisorConfigInput = z.input<typeof supervisorConfigSchema>;

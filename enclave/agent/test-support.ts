/**
 * Test-only: the configuration of a host agent with the simulator backend in a temporary folder, with short
 * timings, and the enclave replaced by a stand-in program. Used by the agent's and the console's tests.
 */
import path from "node:path";
import { agentConfigSchema, type AgentConfig } from "./config";

export function simulatorAgentTestConfig(options: {
  tmp: string;
  hostId: string;
  host: { instanceId: string; region: string; availabilityZone: string; roleArn: string };
  enclaveCommand: { command: string; args: string[] };
  waitHealthyTimeoutMs?: number;
}): AgentConfig {
  const { tmp } = options;
  return agentConfigSchema.parse({
    hostId: options.hostId,
    dataDir: path.join(tmp, "data"),
    tls: { labCertsDir: path.join(tmp, "certs") },
    host: options.host,
    pollIntervalMs: 200,
    probeTimeoutMs: 500,
    waitHealthyTimeoutMs: options.waitHealthyTimeoutMs ?? 10_000,
    streamHeartbeatMs: 500,
    backend: {
      kind: "simulator",
      labCaDir: path.join(tmp, "lab-ca"),
      aws: { endpoint: "http://127.0.0.1:1", accessKeyId: "lab-enclave", secretAccessKey: "lab-enclave-secret" },
      kmsKeyId: "alias/acra_master_key",
      acra: { logFormat: "json", clientId: "app1" },
      allocator: { cpus: 4, memoryMiB: 4096 },
      eifDirs: [path.join(tmp, "eifs")],
      enclaveCommand: options.enclaveCommand,
    },
  });
}

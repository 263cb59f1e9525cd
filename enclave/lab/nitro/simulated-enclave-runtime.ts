import path from "node:path";
import { supervisorConfigSchema } from "../../supervisor/config";
import { startSupervisor, type SupervisorHandle, type SupervisorHooks } from "../../supervisor/supervisor";
import type { RunningServer } from "../../supervisor/http-client";
import { AttestationSigner } from "./attestation-signer";
import { startKmsProxy, startOdynApi, type KmsProxy } from "./fake-odyn";
import { ensureLabCa } from "./lab-ca";
import type { SimulatedEnclaveConfig } from "./simulated-enclave-config";

/**
 * One simulated Nitro enclave: the lab's NSM (attestation signer on the lab CA), fake Odyn (API + KMS proxy) and
 * the real supervisor, in one process. Everything apart from the NSM and Odyn is the production code path.
 */

const REPO_ROOT = path.resolve(__dirname, "../../..");

export interface SimulatedEnclave {
  signer: AttestationSigner;
  odyn: RunningServer;
  kmsProxy: KmsProxy;
  supervisor: SupervisorHandle;
  stop(): Promise<void>;
}

export interface SimulatedEnclaveOptions extends SupervisorHooks {
  /** Script run as acra-server with `node --import tsx`; default enclave/lab/acra-sim/main.ts. */
  acraEntry?: string;
  /** Supervisor timing overrides (tests use short retry delays). */
  timing?: Partial<{ keysRetryMs: number; restartMinMs: number; restartMaxMs: number; stableAfterMs: number; healthPollMs: number }>;
}

export async function runSimulatedEnclave(config: SimulatedEnclaveConfig, options: SimulatedEnclaveOptions = {}): Promise<SimulatedEnclave> {
  const ca = await ensureLabCa(config.labCaDir);
  const signer = new AttestationSigner({
    ca,
    region: config.region,
    parentInstanceId: config.parentInstanceId,
    enclaveId: config.enclaveId,
    roleArn: config.roleArn,
    measurements: config.measurements,
    debugMode: config.debugMode,
  });
  const log = options.log;
  const odyn = await startOdynApi({ signer, port: config.odynApiPort });
  const kmsProxy = await startKmsProxy({
    signer,
    port: config.kmsProxyPort,
    upstream: { endpoint: config.aws.endpoint, accessKeyId: config.aws.accessKeyId, secretAccessKey: config.aws.secretAccessKey },
    ...(log ? { onEvent: log } : {}),
  });
  const kmsProxyUrl = `http://127.0.0.1:${kmsProxy.port}`;
  const acraEntry = options.acraEntry ?? path.join(REPO_ROOT, "enclave/lab/acra-sim/main.ts");
  const supervisorConfig = supervisorConfigSchema.parse({
    port: config.supervisorPort,
    listenHost: "127.0.0.1",
    odynApiUrl: `http://127.0.0.1:${odyn.port}`,
    kmsEndpoint: kmsProxyUrl,
    region: config.region,
    kmsKeyId: config.kmsKeyId,
    hostKeyStoreUrl: config.hostKeyStoreUrl,
    controlToken: config.controlToken,
    acra: {
      command: [process.execPath, "--import", "tsx", acraEntry],
      cwd: REPO_ROOT,
      healthPort: config.acra.port,
      env: {
        ACRA_SIM_PORT: String(config.acra.port),
        ACRA_SIM_METRICS_PORT: String(config.acra.metricsPort),
        ACRA_SIM_CONTROL_PORT: String(config.acra.controlPort),
        ACRA_SIM_LOG_FORMAT: config.acra.logFormat,
        ACRA_SIM_CLIENT_ID: config.acra.clientId,
        ACRA_SIM_KMS_KEY_ID: config.kmsKeyId,
        AWS_ENDPOINT_KMS: kmsProxyUrl,
        // Odyn exports this name to the app; kept for code written against Enclaver's docs.
        AWS_KMS_ENDPOINT: kmsProxyUrl,
        AWS_REGION: config.region,
        // The proxy re-signs; the simulator's SDK just needs something to sign with.
        AWS_ACCESS_KEY_ID: "enclave-kms-proxy",
        AWS_SECRET_ACCESS_KEY: "enclave-kms-proxy",
        // Node's own warnings (e.g. the AWS SDK's Node-version notice) would otherwise be relayed as log lines.
        NODE_NO_WARNINGS: "1",
      },
    },
    timing: options.timing ?? {},
    labControls: true,
  });
  let supervisor: SupervisorHandle;
  try {
    supervisor = await startSupervisor(supervisorConfig, options);
  } catch (err) {
    await Promise.all([odyn.close(), kmsProxy.close()]);
    throw err;
  }
  return {
    signer,
    odyn,
    kmsProxy,
    supervisor,
    async stop() {
      await supervisor.close();
      await Promise.all([odyn.close(), kmsProxy.close()]);
    },
  };
}

/**
 * Simulated Nitro hosts for the lab: each host is a real agent PROCESS (enclave/agent/main.ts) with the simulator
 * backend, so stopping one really kills it and the console really sees it unreachable, while its enclaves keep
 * running (as on a real host) and are adopted again when the agent comes back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { createAgentClient, type AgentClient } from "@/lib/fleet/agent-client";
import { ensureLabAgentCerts } from "@/enclave/agent/certs";
import type { AgentConfigInput, LogSinkConfig } from "@/enclave/agent/config";
import { writeLabEif, type LabEifSpec } from "@/enclave/agent/lab-eif";
import { LAB_CREDENTIALS } from "@/enclave/lab/aws/principals";
import type { DescribeEifOutput } from "@/enclave/agent/nitro-cli-output";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const LAB_ROLE_ARN = "arn:aws:iam::111122223333:role/acra-enclave-role";
export const DEFAULT_REGIONS = ["us-east-1", "us-east-1", "eu-west-1"];

export interface SimulatedHostsOptions {
  dataDir: string;
  count?: number;
  /** Region of host i is regions[i % regions.length]. */
  regions?: string[];
  /** The AWS emulator; credentials default to the enclave role's lab keys (LAB_CREDENTIALS.enclave). */
  aws: { endpoint: string; accessKeyId?: string; secretAccessKey?: string };
  /** The Acra master key's KMS key: one id for every host, or one per region (KMS keys are regional). */
  kmsKeyId: string | Record<string, string>;
  /** Lab Nitro CA folder (ensureLabCa); default <dataDir>/lab-ca. */
  labCaDir?: string;
  acra?: { logFormat?: "plaintext" | "json" | "cef"; clientId?: string };
  allocator?: { cpus: number; memoryMiB: number };
  /**
   * Ship relayed enclave log lines to this CloudWatch Logs group in the emulator (one stream per enclave, in the
   * host's region), as the CloudWatch agent would on a real host. Ignored when `logSink` is given.
   */
  cloudWatchLogGroup?: string;
  /** Any other sink for relayed log lines (a file, or a module factory); see enclave/agent/config.ts. */
  logSink?: LogSinkConfig;
  /** The lab image every host may run; written to <dataDir>/eifs. */
  eif?: LabEifSpec;
  /** Replaces simulated-enclave.ts (tests). */
  enclaveCommand?: { command: string; args: string[]; cwd?: string };
  pollIntervalMs?: number;
  readyTimeoutMs?: number;
}

export interface SimulatedHost {
  id: string;
  region: string;
  availabilityZone: string;
  url: string;
  /** Pin this in the console. */
  certSha256: string;
  instanceId: string;
  roleArn: string;
  keyStoreUrl: string;
  configPath: string;
}

export interface SimulatedHosts {
  hosts: SimulatedHost[];
  /** The console's client certificate (the only one agents accept) and the CA agents' certificates chain to. */
  consoleClient: { certPem: string; keyPem: string };
  agentCaPem: string;
  /** The lab image: its path (use as eifUri) and measurements (register them as an approved build). */
  eif: { path: string; description: DescribeEifOutput };
  /** A pinned client for one host. */
  client(hostId: string): AgentClient;
  /** SIGKILLs the agent process (enclaves keep running). */
  stopAgent(hostId: string): Promise<void>;
  /** Starts the agent again on the same URL with the same certificate. */
  startAgent(hostId: string): Promise<void>;
  isRunning(hostId: string): boolean;
  /** Stops every agent and terminates every simulated enclave. */
  close(): Promise<void>;
}

const REGION_CODES: Record<string, string> = {
  "us-east-1": "use1",
  "us-east-2": "use2",
  "us-west-1": "usw1",
  "us-west-2": "usw2",
  "eu-west-1": "euw1",
  "eu-west-2": "euw2",
  "eu-central-1": "euc1",
  "ap-southeast-1": "apse1",
  "ap-northeast-1": "apne1",
};

function keyForRegion(keys: Record<string, string>, region: string): string {
  const key = keys[region];
  if (!key) throw new Error(`no KMS key for region ${region}`);
  return key;
}

export function regionCode(region: string): string {
  return REGION_CODES[region] ?? region.replace(/[^a-z0-9]/g, "");
}

/** `i-0` + 16 hex derived from the host id: stable across lab restarts, so PCR4 and the console's records stay put. */
export function instanceIdFor(hostId: string): string {
  return `i-0${crypto.createHash("sha256").update(hostId).digest("hex").slice(0, 16)}`;
}

/** Host ids like lab-use1-a, lab-use1-b, lab-euw1-a (letter = position within its region). */
export function hostPlan(count: number, regions: string[]): { id: string; region: string; availabilityZone: string }[] {
  const perRegion = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const region = regions[i % regions.length]!;
    const n = perRegion.get(region) ?? 0;
    perRegion.set(region, n + 1);
    const letter = String.fromCharCode(97 + (n % 26));
    return { id: `lab-${regionCode(region)}-${letter}`, region, availabilityZone: `${region}${letter}` };
  });
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<{ url: string; certSha256: string; keyStoreUrl: string }> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`agent did not become ready within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    rl.on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url: string; certSha256: string; keyStoreUrl: string };
        if (msg.event === "agent-ready") {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // not ours
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before it was ready: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

/** Kills the simulated enclaves an agent left behind (agent killed), by the pids in its simulator state file. */
function killOrphanEnclaves(hostDataDir: string): void {
  const file = path.join(hostDataDir, "simulator", "simulated-enclaves.json");
  let list: { pid: number; configPath: string }[] = [];
  try {
    list = JSON.parse(fs.readFileSync(file, "utf8")) as typeof list;
  } catch {
    return;
  }
  for (const e of list) {
    try {
      // Only a process that is still the one started for this config (pids get recycled).
      if (!fs.readFileSync(`/proc/${e.pid}/cmdline`, "utf8").includes(e.configPath)) continue;
      process.kill(-e.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

export async function startSimulatedHosts(options: SimulatedHostsOptions): Promise<SimulatedHosts> {
  const count = options.count ?? 3;
  const regions = options.regions ?? DEFAULT_REGIONS;
  const dataDir = path.resolve(options.dataDir);
  const certsDir = path.join(dataDir, "agent-certs");
  const eifDir = path.join(dataDir, "eifs");
  const labCaDir = options.labCaDir ?? path.join(dataDir, "lab-ca");
  const eifSpec = options.eif ?? { name: "acra-server", version: "0.96.0-lab.1" };
  const eifPath = path.join(eifDir, `${eifSpec.name}-${eifSpec.version}.eif`);
  const description = await writeLabEif(eifPath, eifSpec);

  const plan = hostPlan(count, regions);
  const hosts: SimulatedHost[] = [];
  const running = new Map<string, Running>();
  const hostDataDir = (id: string) => path.join(dataDir, "hosts", id);

  // Certificates first, in this process, so the agents never race to create the shared CAs.
  let consoleClient = { certPem: "", keyPem: "" };
  let agentCaPem = "";
  for (const h of plan) {
    const c = await ensureLabAgentCerts(certsDir, h.id);
    consoleClient = c.consoleClient;
    agentCaPem = c.agentCaPem;
  }

  const spawnAgent = async (host: SimulatedHost) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "enclave", "agent", "main.ts"), host.configPath], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env },
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    running.set(host.id, { child, exited });
    try {
      return await waitReady(child, options.readyTimeoutMs ?? 30_000);
    } catch (e) {
      running.delete(host.id);
      throw e;
    }
  };

  for (const h of plan) {
    const instanceId = instanceIdFor(h.id);
    const configPath = path.join(hostDataDir(h.id), "agent-config.json");
    fs.mkdirSync(path.dirname(configPath), { recursive: true, mode: 0o700 });
    const config: AgentConfigInput = {
      hostId: h.id,
      dataDir: path.join(hostDataDir(h.id), "data"),
      listen: { host: "127.0.0.1", port: 0 },
      keyStoreListen: { host: "127.0.0.1", port: 0 },
      tls: { labCertsDir: certsDir },
      host: { instanceId, region: h.region, availabilityZone: h.availabilityZone, roleArn: LAB_ROLE_ARN },
      pollIntervalMs: options.pollIntervalMs ?? 2000,
      terminateEnclavesOnShutdown: true,
      backend: {
        kind: "simulator",
        labCaDir,
        aws: {
          endpoint: options.aws.endpoint,
          accessKeyId: options.aws.accessKeyId ?? LAB_CREDENTIALS.enclave.accessKeyId,
          secretAccessKey: options.aws.secretAccessKey ?? LAB_CREDENTIALS.enclave.secretAccessKey,
        },
        kmsKeyId: typeof options.kmsKeyId === "string" ? options.kmsKeyId : keyForRegion(options.kmsKeyId, h.region),
        acra: { logFormat: options.acra?.logFormat ?? "json", clientId: options.acra?.clientId ?? "app1" },
        allocator: options.allocator ?? { cpus: 4, memoryMiB: 8192 },
        eifDirs: [eifDir],
        ...(options.enclaveCommand ? { enclaveCommand: options.enclaveCommand } : {}),
        ...(options.logSink
          ? { logSink: options.logSink }
          : options.cloudWatchLogGroup
            ? {
                logSink: {
                  kind: "module" as const,
                  module: path.join(__dirname, "cloudwatch-log-sink.ts"),
                  options: {
                    endpoint: options.aws.endpoint,
                    region: h.region,
                    logGroupName: options.cloudWatchLogGroup,
                    ...(options.aws.accessKeyId ? { accessKeyId: options.aws.accessKeyId } : {}),
                    ...(options.aws.secretAccessKey ? { secretAccessKey: options.aws.secretAccessKey } : {}),
                  },
                },
              }
            : {}),
      },
    };
    // Reuse the ports of an earlier lab run: the console has this host's URL on record.
    try {
      const previous = JSON.parse(fs.readFileSync(configPath, "utf8")) as AgentConfigInput;
      config.listen = previous.listen;
      config.keyStoreListen = previous.keyStoreListen;
    } catch {
      // first run
    }
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    const host: SimulatedHost = {
      id: h.id,
      region: h.region,
      availabilityZone: h.availabilityZone,
      url: "",
      certSha256: "",
      instanceId,
      roleArn: LAB_ROLE_ARN,
      keyStoreUrl: "",
      configPath,
    };
    const ready = await spawnAgent(host);
    Object.assign(host, ready);
    // Pin the ports the agent picked, so a restarted agent (and adopted enclaves' key store URL) keep them.
    config.listen = { host: "127.0.0.1", port: Number(new URL(ready.url).port) };
    config.keyStoreListen = { host: "127.0.0.1", port: Number(new URL(ready.keyStoreUrl).port) };
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    hosts.push(host);
  }

  const find = (id: string) => {
    const h = hosts.find((x) => x.id === id);
    if (!h) throw new Error(`no simulated host ${id}`);
    return h;
  };

  const stopAgent = async (id: string) => {
    find(id);
    const r = running.get(id);
    if (!r) return;
    r.child.kill("SIGKILL");
    await r.exited;
    running.delete(id);
  };

  return {
    hosts,
    consoleClient,
    agentCaPem,
    eif: { path: eifPath, description },
    client: (id) => {
      const h = find(id);
      return createAgentClient({
        url: h.url,
        certSha256: h.certSha256,
        clientCertPem: consoleClient.certPem,
        clientKeyPem: consoleClient.keyPem,
        caPem: agentCaPem,
      });
    },
    stopAgent,
    async startAgent(id) {
      const h = find(id);
      if (running.has(id)) return;
      const ready = await spawnAgent(h);
      if (ready.url !== h.url || ready.certSha256 !== h.certSha256) {
        throw new Error(`agent ${id} came back as ${ready.url} / ${ready.certSha256}, expected ${h.url} / ${h.certSha256}`);
      }
    },
    isRunning: (id) => running.has(id),
    async close() {
      await Promise.all(
        [...running.entries()].map(async ([id, r]) => {
          r.child.kill("SIGTERM");
          const t = setTimeout(() => r.child.kill("SIGKILL"), 8000);
          await r.exited;
          clearTimeout(t);
          running.delete(id);
        }),
      );
      for (const h of hosts) killOrphanEnclaves(path.join(hostDataDir(h.id), "data"));
    },
  };
}

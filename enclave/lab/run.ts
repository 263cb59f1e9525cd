/**
 * The local lab (started by `npm run lab` through scripts/lab.mjs): the console on SQLite plus everything it
 * watches, on one machine. Stops every process it started on Ctrl-C.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { createDb } from "../../lib/db/client";
import { migrate } from "../../lib/db/migrate";
import { createLocalUser } from "../../lib/auth/users";
import { ROLES } from "../../lib/auth/permissions";
import { consoleView, startControlServer, type LabAction } from "./control-server";
import { defaultLabDataDir, removeLabState, writeLabState, type LabState } from "./lab-state";
import { LAB_IMAGE, startLabFleet, type LabFleet } from "./lab-fleet";
import { allowReleases } from "../../lib/attestation/registry-store";
import { registerLabHosts, registerLabReleases } from "./seed";

const root = path.resolve(__dirname, "..", "..");

interface Options {
  port: number;
  dataDir: string;
  e2e: boolean;
  hosts: number;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const port = Number(value("--port") ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a TCP port number (got ${value("--port")})`);
  const dataDir = path.resolve(value("--data-dir") ?? defaultLabDataDir(root));
  const hosts = Number(value("--hosts") ?? 3);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 12) throw new Error("--hosts must be between 1 and 12");
  return { port, dataDir, e2e: argv.includes("--e2e"), hosts };
}

export function portFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A secret kept in the lab's data folder (0600), created on first use. Never a shipped default. */
function labSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, "secrets", name);
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const secret = randomBytes(18).toString("base64url");
    fs.writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the console exited with code ${child.exitCode} while starting`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the console did not answer on ${url} within ${timeoutMs / 1000}s`);
}

/** Ctrl-C while the lab is still starting: remembered, and honoured as soon as what was started can be stopped. */
const early = { interrupted: false };
const onEarlySignal = () => {
  early.interrupted = true;
};

async function main(): Promise<void> {
  process.on("SIGINT", onEarlySignal);
  process.on("SIGTERM", onEarlySignal);
  const options = parseOptions(process.argv.slice(2));
  if (!(await portFree(options.port))) {
    console.error(`lab: port ${options.port} is taken: is another \`npm run lab\` running? Stop it, or pick another port with \`npm run lab -- --port N\`.`);
    process.exit(1);
  }
  fs.mkdirSync(options.dataDir, { recursive: true });
  const consoleDataDir = path.join(options.dataDir, "console");
  const databaseUrl = `file:${path.join(consoleDataDir, "console.db")}`;
  const consoleUrl = `http://localhost:${options.port}`;
  const adminEmail = "admin@lab.local";
  const adminPassword = labSecret(options.dataDir, "admin-password");

  console.log(`lab: preparing the embedded database in ${path.relative(root, consoleDataDir) || consoleDataDir}`);
  await migrate(databaseUrl, root);
  const db = createDb(databaseUrl);
  if ((await db.user.count({ where: { email: adminEmail } })) === 0 && (await db.user.count()) === 0) {
    await createLocalUser(db, { email: adminEmail, name: "Lab admin", role: "admin", password: adminPassword });
  }
  let e2eCredentials: Record<string, { email: string; password: string }> | null = null;
  if (options.e2e) {
    // End-to-end tests sign in as every role; their passwords are random per data folder and written beside it.
    e2eCredentials = {};
    for (const role of ROLES) {
      const email = `${role}@e2e.local`;
      const password = labSecret(options.dataDir, `e2e-${role}-password`);
      if ((await db.user.count({ where: { email } })) === 0) await createLocalUser(db, { email, name: `E2E ${role}`, role, password });
      e2eCredentials[role] = { email, password };
    }
    fs.writeFileSync(path.join(options.dataDir, "e2e-credentials.json"), JSON.stringify(e2eCredentials, null, 2), { mode: 0o600 });
  }
  console.log("lab: starting the AWS emulator and the simulated Nitro hosts…");
  let fleet: LabFleet;
  try {
    fleet = await startLabFleet({ dataDir: options.dataDir, hostCount: options.hosts, log: (line) => console.log(`lab: ${line}`) });
  } catch (error) {
    await db.$disconnect();
    throw error;
  }
  if (early.interrupted) {
    console.log("lab: interrupted while starting; stopping what was started…");
    await fleet.close();
    await db.$disconnect();
    process.exit(130);
  }
  await registerLabHosts(
    db,
    fleet.hosts.hosts.map((host) => ({
      id: host.id,
      name: host.id,
      region: host.region,
      availabilityZone: host.availabilityZone,
      instanceId: host.instanceId,
      roleArn: host.roleArn,
      agentUrl: host.url,
      agentCertSha256: host.certSha256,
    })),
  );
  const measurements = fleet.hosts.eif.description.Measurements;
  await registerLabReleases(db, [
    {
      id: "lab-acra-server-0.96.0-lab.1",
      name: LAB_IMAGE.name,
      version: LAB_IMAGE.version,
      sourceCommit: "lab",
      pcr0: measurements.PCR0,
      pcr1: measurements.PCR1,
      pcr2: measurements.PCR2,
      approved: true,
    },
  ]);
  // The lab's production policy allows the lab image, so the fleet attests as trusted from the first round.
  await allowReleases(db, "production", ["lab-acra-server-0.96.0-lab.1"], { id: "lab", email: "lab" });
  // The console reaches the agents with the lab's client certificate, pinning each agent's certificate.
  const identityDir = path.join(options.dataDir, "console-agent-identity");
  fs.mkdirSync(identityDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(identityDir, "client.pem"), fleet.hosts.consoleClient.certPem, { mode: 0o600 });
  fs.writeFileSync(path.join(identityDir, "client.key.pem"), fleet.hosts.consoleClient.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(identityDir, "agent-ca.pem"), fleet.hosts.agentCaPem, { mode: 0o600 });

  const children: ChildProcess[] = [];
  const consoleProcess = spawn(path.join(root, "node_modules", ".bin", "next"), ["start", "-p", String(options.port), "-H", "127.0.0.1"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(options.port),
      CONSOLE_URL: consoleUrl,
      CONSOLE_DATA_DIR: consoleDataDir,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      CONSOLE_LAB_ROOT_PEM_FILE: fleet.labRootFile,
      CONSOLE_AGENT_CLIENT_CERT: path.join(identityDir, "client.pem"),
      CONSOLE_AGENT_CLIENT_KEY: path.join(identityDir, "client.key.pem"),
      CONSOLE_AGENT_CA: path.join(identityDir, "agent-ca.pem"),
      CONSOLE_AWS_ENDPOINT: fleet.emulator.endpoint,
      CONSOLE_AWS_REGIONS: "us-east-1,eu-west-1",
      CONSOLE_POLL_INTERVAL_MS: process.env.CONSOLE_POLL_INTERVAL_MS ?? (options.e2e ? "1000" : "5000"),
    },
  });
  children.push(consoleProcess);

  let stopping = false;
  // Filled once the console answers; the stop handler may run before that.
  const lab: { control?: Awaited<ReturnType<typeof startControlServer>> } = {};
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("\nlab: stopping…");
    await lab.control?.close().catch(() => undefined);
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              child.kill("SIGKILL");
              resolve();
            }, 5000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    await fleet.close().catch((error: unknown) => console.error(`lab: stopping the fleet: ${String(error)}`));
    await db.$disconnect().catch(() => undefined);
    removeLabState(options.dataDir);
    console.log("lab: stopped.");
    process.exit(code);
  };
  process.off("SIGINT", onEarlySignal);
  process.off("SIGTERM", onEarlySignal);
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  consoleProcess.on("exit", (code) => {
    if (!stopping) {
      console.error(`lab: the console exited (code ${code}); stopping the lab.`);
      void stop(1);
    }
  });

  await waitForHttp(`http://127.0.0.1:${options.port}/api/health`, 60_000, consoleProcess);
  const hostIds = fleet.hosts.hosts.map((host) => host.id);
  const control = await startControlServer({
    status: () => consoleView(db, consoleUrl, fleet.emulator.endpoint, hostIds),
    async act(action: LabAction, hostId: string) {
      switch (action) {
        case "inject-poison":
          return fleet.injectPoison(hostId);
        case "inject-decrypt-failure":
          return fleet.injectAcra(hostId, "decrypt-failure");
        case "inject-censor-block":
          return fleet.injectAcra(hostId, "censor-block");
        case "inject-db-lost":
          return fleet.injectAcra(hostId, "db-lost");
        case "inject-unattested-decrypt":
          return fleet.injectUnattestedDecrypt(hostId);
        case "crash-enclave":
          return fleet.crashEnclave(hostId);
        case "deploy-rogue-image":
          return fleet.deployRogueImage(hostId);
        case "stop-agent":
          if (!hostIds.includes(hostId)) throw new Error(`no lab host "${hostId}"`);
          await fleet.hosts.stopAgent(hostId);
          return `agent on ${hostId} stopped`;
        case "start-agent":
          if (!hostIds.includes(hostId)) throw new Error(`no lab host "${hostId}"`);
          await fleet.hosts.startAgent(hostId);
          return `agent on ${hostId} started`;
      }
    },
  });
  lab.control = control;
  const state: LabState = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir: options.dataDir,
    console: { url: consoleUrl, pid: consoleProcess.pid },
    aws: { endpoint: fleet.emulator.endpoint },
    hosts: fleet.hosts.hosts.map((host) => ({ id: host.id, region: host.region, url: host.url, certSha256: host.certSha256, instanceId: host.instanceId })),
    controlUrl: control.url,
    controlToken: control.token,
  };
  writeLabState(state);
  console.log(
    [
      "",
      "  The lab is running.",
      `    console:  ${consoleUrl}`,
      `    AWS:      ${fleet.emulator.endpoint} (emulated KMS, CloudTrail, CloudWatch Logs)`,
      ...fleet.hosts.hosts.map((host) => `    host:     ${host.id} (${host.region}) agent ${host.url}`),
      `    sign in:  ${adminEmail} / ${adminPassword}`,
      `              (the lab's own admin; its password is kept in ${path.relative(root, path.join(options.dataDir, "secrets", "admin-password"))})`,
      "  Provoke things from another terminal: npm run --silent cli -- lab --help",
      "  Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

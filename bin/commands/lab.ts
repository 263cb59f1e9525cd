/**
 * `npm run --silent cli -- lab <action> [--host <id>] [--json] [--data-dir <dir>]`: drive a running lab from
 * another terminal (a person, a demo, the e2e tests).
 */
import path from "node:path";
import { LAB_ACTIONS, type LabStatus } from "../../enclave/lab/control-server";
import { defaultLabDataDir, readLabState } from "../../enclave/lab/lab-state";
import type { CliCommand } from "../command";

const usage = `usage: npm run --silent cli -- lab <action> [options]

actions:
  status                      the lab as the console sees it (--json for machine-readable output)
  inject-poison               acra-server in the host's enclave reads a poison record     (--host)
  inject-decrypt-failure      acra-server fails to decrypt a record                        (--host)
  inject-censor-block         AcraCensor blocks a query                                    (--host)
  inject-db-lost              acra-server loses its database connection                    (--host)
  inject-unattested-decrypt   a rogue principal calls KMS Decrypt without attestation     (--host)
  crash-enclave               the host's enclave dies                                      (--host)
  stop-agent | start-agent    kill or restart the host agent                               (--host)
  deploy-rogue-image          redeploy the host's enclave with an unapproved image         (--host)

options:
  --host <id>        target host (e.g. lab-use1-a; see status)
  --json             print JSON
  --data-dir <dir>   the lab's data folder (default ./data/lab)`;

function option(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}

export const command: CliCommand = {
  name: "lab",
  summary: "control the running local lab (status, inject-poison, crash-enclave, stop-agent, ...)",
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    if (!action || (action !== "status" && !(LAB_ACTIONS as readonly string[]).includes(action))) {
      console.error(action ? `unknown lab action "${action}"\n\n${usage}` : usage);
      return 2;
    }
    const known = new Set(["--host", "--json", "--data-dir"]);
    for (let index = 0; index < rest.length; index += 1) {
      const arg = rest[index]!;
      if (!arg.startsWith("--")) continue;
      if (!known.has(arg)) {
        console.error(`unknown option ${arg}`);
        return 2;
      }
      if (arg !== "--json") index += 1;
    }
    const dataDir = path.resolve(option(rest, "--data-dir") ?? defaultLabDataDir());
    const state = readLabState(dataDir);
    if (!state?.controlUrl || !state.controlToken) {
      console.error(`no lab is running (nothing answers for ${dataDir}); start one with \`npm run lab\``);
      return 1;
    }
    const headers = { authorization: `Bearer ${state.controlToken}` };
    try {
      if (action === "status") {
        const response = await fetch(`${state.controlUrl}/status`, { headers });
        if (!response.ok) throw new Error(`lab control answered ${response.status}`);
        const status = (await response.json()) as LabStatus;
        if (rest.includes("--json")) console.log(JSON.stringify(status));
        else {
          console.log(`console  ${status.console.url}\naws      ${status.aws.endpoint}`);
          for (const host of status.hosts) {
            console.log(`host     ${host.id} (${host.region}) agent ${host.agent}`);
            for (const enclave of host.enclaves) console.log(`           ${enclave.id}  ${enclave.state}  attestation ${enclave.attestation}`);
          }
        }
        return 0;
      }
      const host = option(rest, "--host");
      if (!host) {
        console.error(`${action} needs --host <host id>`);
        return 2;
      }
      const response = await fetch(`${state.controlUrl}/actions/${action}?host=${encodeURIComponent(host)}`, { method: "POST", headers });
      const body = (await response.json()) as { message?: string; error?: string };
      if (!response.ok) {
        console.error(`lab ${action}: ${body.error ?? response.status}`);
        return 1;
      }
      console.log(rest.includes("--json") ? JSON.stringify(body) : body.message);
      return 0;
    } catch (error) {
      console.error(`the lab did not answer: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  },
};

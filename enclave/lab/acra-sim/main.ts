/**
 * Entry point of the simulated acra-server, started by the enclave supervisor:
 *   node --import tsx enclave/lab/acra-sim/main.ts   (env per enclave/lab/acra-sim/README.md)
 * Logs go to stdout (the supervisor relays them; Enclaver would capture stdout and stderr alike).
 * Exit codes: 0 after SIGTERM/SIGINT, 1 on a refused configuration or a poison-record shutdown, 2 on a simulated panic.
 */
import { masterKeyRejectedEvents, startupEvents } from "./acra-events";
import { formatAcraLogLine } from "./log-format";
import { parseAcraSimEnv } from "./sim-config";
import { startAcraSimulator, type AcraSimulator } from "./simulator";

function writeLine(line: string): void {
  process.stdout.write(line + "\n");
}

function exitAfterFlush(code: number): void {
  // stdout to a pipe is asynchronous: exit only once what was written has been handed to the OS.
  process.stdout.write("", () => process.exit(code));
}

// The reader went away (supervisor died): nothing left to log to.
process.stdout.on("error", () => process.exit(0));

async function main(): Promise<void> {
  const parsed = parseAcraSimEnv(process.env);
  if (!parsed.ok) {
    const t = Date.now();
    const format = parsed.logFormat;
    if (parsed.masterKeyProblem) {
      // acra-server gets as far as keystore initialisation before it notices the key.
      const startup = startupEvents(t, { pid: process.pid, version: process.env.ACRA_SIM_VERSION ?? "0.96.0", connectionString: "" });
      const upToKeystore = startup.slice(0, startup.findIndex((e) => e.msg === "Initialising keystore...") + 1);
      for (const event of [...upToKeystore, ...masterKeyRejectedEvents(t, parsed.masterKeyProblem)]) writeLine(formatAcraLogLine(event, format));
    } else {
      writeLine(formatAcraLogLine({ timeMs: t, level: "error", msg: "Can't parse args", code: 508, fields: { error: parsed.message } }, format));
    }
    exitAfterFlush(1);
    return;
  }

  let simulator: AcraSimulator | null = null;
  let pendingSignal = false;
  const onSignal = () => {
    if (simulator) void simulator.shutdown();
    else pendingSignal = true;
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    simulator = await startAcraSimulator(parsed.config, { writeLine, exit: exitAfterFlush });
  } catch (error) {
    // e.g. a port already in use: acra-server logs code 530 "Can't start listen connections" and stops.
    writeLine(
      formatAcraLogLine({ timeMs: Date.now(), level: "error", msg: "Can't start listen connections", code: 530, fields: { error: String((error as Error).message ?? error) } }, parsed.config.logFormat),
    );
    exitAfterFlush(1);
    return;
  }
  if (pendingSignal) void simulator.shutdown();
}

void main();

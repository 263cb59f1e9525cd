/**
 * Running host tools (nitro-cli, socat) safely: argument arrays only (never a shell, so no quoting bugs or
 * injection through an enclave name or path), a hard timeout that kills the process, and bounded output so a tool
 * that floods stdout cannot exhaust the agent's memory.
 */
import { spawn } from "node:child_process";

export class CommandError extends Error {
  constructor(
    readonly code: "command-timeout" | "command-failed" | "command-not-found" | "command-output-too-large",
    message: string,
    readonly command: string,
    readonly details: { exitCode?: number | null; signal?: string | null; stderr?: string; pid?: number } = {},
  ) {
    super(message);
    this.name = "CommandError";
  }
}

export interface RunCommandOptions {
  timeoutMs: number;
  /** After the timeout, SIGTERM; if still alive after this grace period, SIGKILL. */
  killGraceMs?: number;
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  pid: number | undefined;
}

const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;

/** Resolves with stdout/stderr on exit code 0; rejects with a CommandError otherwise. */
export function runCommand(file: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const label = [file, ...args.slice(0, 1)].join(" ");
  const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      shell: false,
      stdio: ["pipe", "pipe", "pipe"],
      env: options.env ?? process.env,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: CommandError | null = null;
    let killTimer: NodeJS.Timeout | undefined;

    const kill = (why: CommandError) => {
      if (failure) return;
      failure = why;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), options.killGraceMs ?? 1000);
      killTimer.unref();
    };
    const timer = setTimeout(
      () =>
        kill(
          new CommandError("command-timeout", `${label} did not finish within ${options.timeoutMs} ms (killed)`, label, {
            pid: child.pid,
          }),
        ),
      options.timeoutMs,
    );

    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        kill(new CommandError("command-output-too-large", `${label} printed more than ${max} bytes (killed)`, label));
        return;
      }
      out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      // stderr is for messages; keep only the start, it is only ever shown in errors.
      if (errBytes < 64 * 1024) err.push(chunk);
      errBytes += chunk.length;
    });
    child.stdin.on("error", () => {
      // The tool may exit without reading its input; that is reported through its exit status instead.
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = e.code === "ENOENT" ? "command-not-found" : "command-failed";
      reject(failure ?? new CommandError(code, `${label}: ${e.message}`, label));
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      const stderr = Buffer.concat(err).toString("utf8").slice(0, 4096);
      if (failure) {
        failure.details.stderr = stderr;
        failure.details.signal = signal;
        reject(failure);
        return;
      }
      if (exitCode !== 0) {
        const firstLine = stderr.trim().split("\n").slice(-1)[0] ?? "";
        reject(
          new CommandError("command-failed", `${label} exited with ${exitCode ?? signal}: ${firstLine}`, label, {
            exitCode,
            signal,
            stderr,
          }),
        );
        return;
      }
      resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr, pid: child.pid });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

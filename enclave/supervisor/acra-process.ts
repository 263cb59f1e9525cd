import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import readline from "node:readline";

/**
 * Runs acra-server (or the lab simulator) as a child: passes the master key in its environment, relays every output
 * line to our stdout (Enclaver ships the enclave's stdout to the host), tracks health by TCP accept on its port, and
 * restarts it with exponential backoff when it dies.
 */
export type AcraRunState = "starting" | "up" | "down" | "stopped";

export interface AcraProcessOptions {
  command: string[];
  cwd?: string | undefined;
  env: Record<string, string>;
  healthPort: number;
  restartMinMs: number;
  restartMaxMs: number;
  stableAfterMs: number;
  healthPollMs: number;
  /** Where relayed lines go; default process.stdout. */
  writeLine?: (line: string) => void;
  onEvent?: (event: string, detail: Record<string, unknown>) => void;
}

export interface AcraStatus {
  state: AcraRunState;
  pid: number | null;
  restarts: number;
  lastLogAt: string | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
}

export class AcraProcess {
  private child: ChildProcess | null = null;
  private state: AcraRunState = "stopped";
  private restarts = 0;
  private consecutiveFailures = 0;
  private lastLogAt: Date | null = null;
  private lastExit: AcraStatus["lastExit"] = null;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private wanted = false;
  private masterKeyB64: string | null = null;
  private readonly writeLine: (line: string) => void;

  constructor(private readonly opts: AcraProcessOptions) {
    this.writeLine = opts.writeLine ?? ((line) => process.stdout.write(`${line}\n`));
  }

  status(): AcraStatus {
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastLogAt: this.lastLogAt?.toISOString() ?? null,
      lastExit: this.lastExit,
    };
  }

  /** Starts (or restarts, when the key changed) with this master key. */
  async start(masterKey: Buffer): Promise<void> {
    this.masterKeyB64 = masterKey.toString("base64");
    this.wanted = true;
    if (this.child) await this.killChild();
    this.clearTimers();
    this.consecutiveFailures = 0;
    this.spawnChild();
  }

  /** Operator-requested restart: counted, no backoff. */
  async restart(): Promise<void> {
    if (!this.masterKeyB64) throw new Error("acra-server has no key yet");
    this.wanted = true;
    this.clearTimers();
    if (this.child) await this.killChild();
    this.restarts += 1;
    this.spawnChild();
  }

  async stop(): Promise<void> {
    this.wanted = false;
    this.clearTimers();
    if (this.child) await this.killChild();
    this.state = "stopped";
  }

  /** Synchronous last resort on process exit: never leave acra-server orphaned with the key in its environment. */
  killNow(): void {
    this.wanted = false;
    this.child?.kill("SIGKILL");
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.restartTimer = null;
    this.healthTimer = null;
  }

  private spawnChild(): void {
    const [cmd, ...args] = this.opts.command;
    if (!cmd || !this.masterKeyB64) return;
    this.state = "starting";
    this.startedAt = Date.now();
    const child = spawn(cmd, args, {
      cwd: this.opts.cwd,
      env: { ...process.env, ...this.opts.env, ACRA_MASTER_KEY: this.masterKeyB64 },
      // stdin stays an open pipe: a child that watches it notices when the supervisor is gone.
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child = child;
    this.opts.onEvent?.("acra-spawned", { pid: child.pid ?? null });
    // acra-server logs to stderr by default; both streams are relayed line by line.
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on("line", (line) => {
        this.lastLogAt = new Date();
        this.writeLine(line);
      });
    }
    child.on("error", (err) => {
      this.opts.onEvent?.("acra-spawn-error", { error: err.message });
    });
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.lastExit = { code, signal, at: new Date().toISOString() };
      this.opts.onEvent?.("acra-exited", { code, signal });
      if (this.healthTimer) clearTimeout(this.healthTimer);
      this.healthTimer = null;
      if (!this.wanted) {
        this.state = "stopped";
        return;
      }
      this.state = "down";
      if (Date.now() - this.startedAt >= this.opts.stableAfterMs) this.consecutiveFailures = 0;
      const delay = Math.min(this.opts.restartMaxMs, this.opts.restartMinMs * 2 ** this.consecutiveFailures);
      this.consecutiveFailures += 1;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.wanted) return;
        this.restarts += 1;
        this.spawnChild();
      }, delay);
    });
    this.pollHealth(child);
  }

  private pollHealth(child: ChildProcess): void {
    const probe = () => {
      if (this.child !== child) return;
      const sock = net.connect({ host: "127.0.0.1", port: this.opts.healthPort });
      const done = (up: boolean) => {
        sock.destroy();
        if (this.child !== child) return;
        if (up) {
          if (this.state !== "up") this.opts.onEvent?.("acra-up", { pid: child.pid ?? null });
          this.state = "up";
        } else if (this.state === "up") {
          this.state = "starting";
        }
        this.healthTimer = setTimeout(probe, this.state === "up" ? this.opts.healthPollMs * 5 : this.opts.healthPollMs);
      };
      sock.setTimeout(1000, () => done(false));
      sock.once("connect", () => done(true));
      sock.once("error", () => done(false));
    };
    this.healthTimer = setTimeout(probe, this.opts.healthPollMs);
  }

  private killChild(): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.child = null;
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.exitCode !== null || child.signalCode !== null) {
        clearTimeout(timer);
        resolve();
        return;
      }
      child.kill("SIGTERM");
    });
  }
}

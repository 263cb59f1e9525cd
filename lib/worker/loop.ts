/**
 * The worker loop: scheduled jobs (agent polling, attestation, CloudTrail and log ingestion) registered by the
 * domain modules. In the embedded default it runs inside the console's process; in production `npm run worker`
 * runs it alone. Each job is claimed with a lease in the database, so two workers never run the same job at once.
 */
import { randomUUID } from "node:crypto";
import { getDb, type Db } from "../db/client";
import { logger } from "../log";

export interface Job {
  name: string;
  intervalMs: number;
  run(db: Db, signal: AbortSignal): Promise<void>;
}

const jobs: Job[] = [];

export function registerJob(job: Job): void {
  if (!jobs.some((existing) => existing.name === job.name)) jobs.push(job);
}

const owner = `${process.pid}-${randomUUID().slice(0, 8)}`;

/** Claims the named lease for `ms` if it is free or expired (or already ours). */
export async function claimLease(db: Db, name: string, ms: number, now = new Date()): Promise<boolean> {
  const expiresAt = new Date(now.getTime() + ms);
  const { count } = await db.lease.updateMany({
    where: { name, OR: [{ expiresAt: { lt: now } }, { owner }] },
    data: { owner, expiresAt },
  });
  if (count === 1) return true;
  try {
    await db.lease.create({ data: { name, owner, expiresAt } });
    return true;
  } catch {
    return false; // someone else holds it
  }
}

const globalForWorker = globalThis as unknown as { consoleWorker?: { stop(): void } };

export function startWorkerLoop(loadJobs: () => Promise<void> = async () => { await import("./jobs"); }): { stop(): void } {
  if (globalForWorker.consoleWorker) return globalForWorker.consoleWorker;
  const controller = new AbortController();
  const lastRun = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const tick = async () => {
    const db = getDb();
    for (const job of jobs) {
      if (controller.signal.aborted) return;
      if (Date.now() - (lastRun.get(job.name) ?? 0) < job.intervalMs) continue;
      lastRun.set(job.name, Date.now());
      try {
        if (!(await claimLease(db, job.name, Math.max(job.intervalMs * 3, 30_000)))) continue;
        await job.run(db, controller.signal);
      } catch (error) {
        // A failing job (agent down, AWS throttling) is logged and retried on its next turn; the console stays up.
        logger.warn({ job: job.name, err: error }, "worker job failed");
      }
    }
  };
  const loop = async () => {
    await tick();
    if (!controller.signal.aborted) timer = setTimeout(loop, 1000);
  };
  void loadJobs().then(loop, (error: unknown) => logger.error({ err: error }, "worker jobs failed to load"));
  globalForWorker.consoleWorker = {
    stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      globalForWorker.consoleWorker = undefined;
    },
  };
  return globalForWorker.consoleWorker;
}

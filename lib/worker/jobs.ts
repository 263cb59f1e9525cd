/** The jobs the worker runs; each domain module registers its own here. */
import { runAttestationJob } from "../attestation/fleet-attestation";
import { pollAllHosts, pruneHealthSamples } from "../fleet/poll-agents";
import { registerJob } from "./loop";

registerJob({
  name: "fleet.poll-agents",
  intervalMs: Number(process.env.CONSOLE_POLL_INTERVAL_MS ?? 5000),
  run: async (db) => {
    await pollAllHosts(db);
  },
});

registerJob({
  name: "attestation.attest-fleet",
  intervalMs: Number(process.env.CONSOLE_ATTEST_INTERVAL_MS ?? 30_000),
  run: async (db) => {
    await runAttestationJob(db);
  },
});

registerJob({
  name: "fleet.prune-health-samples",
  intervalMs: 60 * 60 * 1000,
  run: async (db) => {
    await pruneHealthSamples(db, Number(process.env.CONSOLE_HEALTH_RETENTION_DAYS ?? 7));
  },
});

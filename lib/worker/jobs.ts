/** The jobs the worker runs; each domain module registers its own here. */
import { pollAllHosts } from "../fleet/poll-agents";
import { registerJob } from "./loop";

registerJob({
  name: "fleet.poll-agents",
  intervalMs: Number(process.env.CONSOLE_POLL_INTERVAL_MS ?? 5000),
  run: async (db) => {
    await pollAllHosts(db);
  },
});

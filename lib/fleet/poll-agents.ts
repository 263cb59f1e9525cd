/**
 * Worker job: ask every host agent for its facts and enclaves, store them with a health sample, and record what
 * changed as fleet events. An agent that is down, slow, answers nonsense or presents another certificate marks
 * its host as such (with the error and the last time it was seen); the other hosts and the console carry on.
 */
import type { Db } from "../db/client";
import { logger } from "../log";
import { AgentCertificateMismatchError, AgentProtocolError, AgentTimeoutError } from "./agent-client";
import { agentClientFor, AgentNotConfiguredError } from "./agent-connection";
import { acraHealthOf, diffEnclaves } from "./fleet-sync";

export type HostStatus = "up" | "down" | "degraded" | "unknown";

function describeFailure(error: unknown): { status: HostStatus; message: string } {
  if (error instanceof AgentCertificateMismatchError) return { status: "degraded", message: `agent certificate changed: refusing to trust it (${error.message})` };
  if (error instanceof AgentProtocolError) return { status: "degraded", message: `agent answered nonsense: ${error.message}` };
  if (error instanceof AgentTimeoutError) return { status: "down", message: `agent too slow: ${error.message}` };
  if (error instanceof AgentNotConfiguredError) return { status: "unknown", message: error.message };
  return { status: "down", message: `agent unreachable: ${error instanceof Error ? error.message : String(error)}` };
}

export async function pollHost(db: Db, host: { id: string; name: string; agentUrl: string; agentCertSha256: string; status: string }): Promise<HostStatus> {
  const now = new Date();
  let facts;
  let list;
  try {
    const client = agentClientFor(host);
    [facts, list] = await Promise.all([client.getHost(), client.listEnclaves()]);
  } catch (error) {
    const failure = describeFailure(error);
    await db.host.update({ where: { id: host.id }, data: { status: failure.status, lastError: failure.message } });
    if (host.status !== failure.status) {
      await db.fleetEvent.create({
        data: { hostId: host.id, kind: failure.status === "degraded" ? "agent.untrusted" : "agent.unreachable", severity: "critical", message: `Host ${host.name}: ${failure.message}` },
      });
    }
    return failure.status;
  }

  const stored = await db.enclave.findMany({ where: { hostId: host.id }, select: { id: true, state: true, acraHealth: true, eifPcr0: true } });
  const events = diffEnclaves(host.id, stored, list.enclaves);
  await db.$transaction(async (tx) => {
    await tx.host.update({
      where: { id: host.id },
      data: {
        status: "up",
        lastSeenAt: now,
        lastError: null,
        instanceId: facts.instanceId,
        region: facts.region,
        availabilityZone: facts.availabilityZone,
        roleArn: facts.roleArn,
        agentVersion: facts.agentVersion,
        nitroCliVersion: facts.nitroCliVersion,
        cpus: facts.allocator.cpus,
        memoryMiB: facts.allocator.memoryMiB,
      },
    });
    if (host.status !== "up") {
      const message = host.status === "unknown" ? `Host ${host.name}: agent reachable` : `Host ${host.name}: agent reachable again (was ${host.status})`;
      await tx.fleetEvent.create({ data: { hostId: host.id, kind: "agent.reachable", severity: "info", message } });
    }
    for (const enclave of list.enclaves) {
      const data = {
        hostId: host.id,
        name: enclave.EnclaveName ?? "",
        cid: enclave.EnclaveCID,
        state: enclave.State,
        flags: enclave.Flags,
        cpus: enclave.NumberOfCPUs,
        memoryMiB: enclave.MemoryMiB,
        startedAt: enclave.startedAt ? new Date(enclave.startedAt) : null,
        eifPcr0: enclave.Measurements?.PCR0 ?? "",
        eifPcr1: enclave.Measurements?.PCR1 ?? "",
        eifPcr2: enclave.Measurements?.PCR2 ?? "",
        acraHealth: acraHealthOf(enclave),
        acraLastLogAt: enclave.health.lastLogAt ? new Date(enclave.health.lastLogAt) : null,
        lastSeenAt: now,
      };
      // An enclave that no longer runs proves nothing any more: its earlier attestation must not keep showing green.
      const attestation = enclave.State === "RUNNING" ? {} : { attestationState: "unknown" };
      await tx.enclave.upsert({ where: { id: enclave.EnclaveID }, create: { id: enclave.EnclaveID, ...data, ...attestation }, update: { ...data, ...attestation } });
      await tx.enclaveHealthSample.create({
        data: {
          enclaveId: enclave.EnclaveID,
          at: now,
          state: enclave.State,
          acraUp: data.acraHealth === "up",
          cpuPct: null,
          memoryMiB: enclave.MemoryMiB,
        },
      });
    }
    const seen = new Set(list.enclaves.map((enclave) => enclave.EnclaveID));
    const gone = stored.filter((enclave) => !seen.has(enclave.id)).map((enclave) => enclave.id);
    if (gone.length) await tx.enclave.updateMany({ where: { id: { in: gone } }, data: { state: "TERMINATED", acraHealth: "down", attestationState: "unknown" } });
    for (const event of events) {
      await tx.fleetEvent.create({ data: { hostId: host.id, enclaveId: event.enclaveId, kind: event.kind, severity: event.severity, message: event.message, data: JSON.stringify(event.data ?? {}) } });
    }
  });
  return "up";
}

/** One pass over every registered host, in parallel: one dead agent does not hold up the others. */
export async function pollAllHosts(db: Db): Promise<Record<string, HostStatus>> {
  const hosts = await db.host.findMany({ select: { id: true, name: true, agentUrl: true, agentCertSha256: true, status: true } });
  const results = await Promise.allSettled(hosts.map((host) => pollHost(db, host)));
  const out: Record<string, HostStatus> = {};
  results.forEach((result, index) => {
    const host = hosts[index]!;
    if (result.status === "fulfilled") out[host.id] = result.value;
    else {
      logger.warn({ host: host.id, err: result.reason }, "polling the host failed");
      out[host.id] = "unknown";
    }
  });
  return out;
}

/** Health samples are taken every poll; beyond the retention window they are deleted (events are kept). */
export async function pruneHealthSamples(db: Db, retentionDays: number, now = new Date()): Promise<number> {
  const { count } = await db.enclaveHealthSample.deleteMany({ where: { at: { lt: new Date(now.getTime() - retentionDays * 86_400_000) } } });
  return count;
}

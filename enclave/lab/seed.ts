/**
 * The lab's demo data in the console's database. Hosts are registered with the agent URL and certificate
 * fingerprint the simulated hosts actually have, so the console talks to them exactly as it would to real agents.
 * Idempotent: a second start updates what changed and keeps history.
 */
import type { Db } from "../../lib/db/client";

export interface LabHostRegistration {
  id: string;
  name: string;
  region: string;
  availabilityZone: string;
  instanceId: string;
  roleArn: string;
  agentUrl: string;
  agentCertSha256: string;
}

export async function registerLabHosts(db: Db, hosts: LabHostRegistration[]): Promise<void> {
  for (const host of hosts) {
    const data = { ...host, lab: true };
    await db.host.upsert({ where: { id: host.id }, create: data, update: data });
  }
}

/** Releases whose measurements match the simulated enclave images, approved so the fleet attests as trusted. */
export async function registerLabReleases(
  db: Db,
  releases: { id: string; name: string; version: string; pcr0: string; pcr1: string; pcr2: string; sourceCommit: string; approved: boolean }[],
): Promise<void> {
  for (const release of releases) {
    const data = {
      name: release.name,
      version: release.version,
      sourceCommit: release.sourceCommit,
      pcr0: release.pcr0,
      pcr1: release.pcr1,
      pcr2: release.pcr2,
      source: "lab (simulated enclaver build)",
      status: release.approved ? "approved" : "pending",
      createdBy: "lab",
      ...(release.approved ? { approvedBy: "lab", approvedAt: new Date() } : {}),
    };
    await db.release.upsert({ where: { id: release.id }, create: { id: release.id, ...data }, update: data });
  }
}

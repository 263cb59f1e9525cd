/** Fleet reads for pages. Authorization is checked here, in the data-access layer, not in the page. */
import "server-only";
import { cache } from "react";
import { requirePermission } from "../auth/session";
import { getDb } from "../db/client";

export const listHostsWithEnclaves = cache(async () => {
  await requirePermission("fleet.view");
  return getDb().host.findMany({
    orderBy: [{ region: "asc" }, { name: "asc" }],
    include: { enclaves: { orderBy: { name: "asc" } } },
  });
});

export const listEnclaves = cache(async (filters: { state?: string; attestation?: string; region?: string; q?: string } = {}) => {
  await requirePermission("fleet.view");
  return getDb().enclave.findMany({
    where: {
      ...(filters.state ? { state: filters.state } : {}),
      ...(filters.attestation ? { attestationState: filters.attestation } : {}),
      ...(filters.region ? { host: { region: filters.region } } : {}),
      ...(filters.q ? { OR: [{ id: { contains: filters.q } }, { name: { contains: filters.q } }, { hostId: { contains: filters.q } }] } : {}),
    },
    include: { host: { select: { id: true, name: true, region: true, status: true, lastSeenAt: true } } },
    orderBy: [{ hostId: "asc" }, { name: "asc" }],
  });
});

/** Critical fleet events of the last day: what the alerts module will turn into open alerts. */
export const criticalEventCount = cache(async (hours = 24) => {
  await requirePermission("fleet.view");
  return getDb().fleetEvent.count({ where: { severity: "critical", at: { gte: new Date(Date.now() - hours * 3600_000) } } });
});

export const recentFleetEvents = cache(async (take = 20) => {
  await requirePermission("fleet.view");
  return getDb().fleetEvent.findMany({ orderBy: { at: "desc" }, take });
});

export const getEnclaveDetail = cache(async (id: string, hours = 6) => {
  await requirePermission("fleet.view");
  const db = getDb();
  const enclave = await db.enclave.findUnique({ where: { id }, include: { host: true } });
  if (!enclave) return null;
  const since = new Date(Date.now() - hours * 3600_000);
  const [samples, events] = await Promise.all([
    db.enclaveHealthSample.findMany({ where: { enclaveId: id, at: { gte: since } }, orderBy: { at: "asc" }, take: 5000 }),
    db.fleetEvent.findMany({ where: { enclaveId: id }, orderBy: { at: "desc" }, take: 30 }),
  ]);
  return { enclave, samples, events };
});

export const getHostDetail = cache(async (id: string) => {
  await requirePermission("fleet.view");
  const db = getDb();
  const host = await db.host.findUnique({ where: { id }, include: { enclaves: { orderBy: { name: "asc" } } } });
  if (!host) return null;
  const events = await db.fleetEvent.findMany({ where: { hostId: id }, orderBy: { at: "desc" }, take: 30 });
  return { host, events };
});

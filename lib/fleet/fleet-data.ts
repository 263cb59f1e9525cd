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

export const recentFleetEvents = cache(async (take = 20) => {
  await requirePermission("fleet.view");
  return getDb().fleetEvent.findMany({ orderBy: { at: "desc" }, take });
});

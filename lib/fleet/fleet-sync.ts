/**
 * Pure rules for turning what an agent reports into stored state and fleet events. No I/O, so the rules are
 * tested on their own (fleet-sync.test.ts).
 */
import type { Enclave as AgentEnclave } from "./agent-protocol";

export interface StoredEnclave {
  id: string;
  state: string;
  acraHealth: string;
  eifPcr0: string;
}

export interface FleetEventDraft {
  enclaveId: string | null;
  kind: string;
  severity: "info" | "warning" | "critical";
  message: string;
  data?: Record<string, unknown>;
}

export function acraHealthOf(enclave: AgentEnclave): "up" | "down" | "unknown" {
  if (enclave.State !== "RUNNING") return "down";
  if (enclave.health.status === "healthy") return "up";
  if (enclave.health.status === "down") return "down";
  return enclave.health.tcp === "up" ? "up" : enclave.health.tcp === "down" ? "down" : "unknown";
}

/** What changed between the stored view of a host's enclaves and what its agent reports now. */
export function diffEnclaves(hostId: string, stored: StoredEnclave[], observed: AgentEnclave[]): FleetEventDraft[] {
  const events: FleetEventDraft[] = [];
  const byId = new Map(stored.map((enclave) => [enclave.id, enclave]));
  const seen = new Set<string>();
  for (const enclave of observed) {
    seen.add(enclave.EnclaveID);
    const before = byId.get(enclave.EnclaveID);
    const health = acraHealthOf(enclave);
    if (!before) {
      events.push({ enclaveId: enclave.EnclaveID, kind: "enclave.discovered", severity: "info", message: `Enclave ${enclave.EnclaveName ?? enclave.EnclaveID} found on ${hostId} (${enclave.State})` });
      if (enclave.Flags === "DEBUG_MODE") {
        events.push({ enclaveId: enclave.EnclaveID, kind: "enclave.debug_mode", severity: "critical", message: `Enclave ${enclave.EnclaveID} on ${hostId} runs in DEBUG mode: its memory is readable from the host` });
      }
      continue;
    }
    if (before.state !== enclave.State) {
      const crashed = enclave.State === "TERMINATED" && enclave.exit && !enclave.exit.expected;
      events.push({
        enclaveId: enclave.EnclaveID,
        kind: crashed ? "enclave.crashed" : "enclave.state_changed",
        severity: crashed ? "critical" : enclave.State === "RUNNING" ? "info" : "warning",
        message: crashed
          ? `Enclave ${enclave.EnclaveID} on ${hostId} exited unexpectedly (code ${enclave.exit?.exitCode ?? "unknown"})`
          : `Enclave ${enclave.EnclaveID} on ${hostId}: ${before.state} → ${enclave.State}`,
        data: enclave.exit ? { exit: enclave.exit } : undefined,
      });
    }
    if (before.acraHealth !== health && before.state === enclave.State) {
      events.push({
        enclaveId: enclave.EnclaveID,
        kind: "acra.health_changed",
        severity: health === "down" ? "critical" : "info",
        message: `acra-server in ${enclave.EnclaveID} on ${hostId} is ${health} (was ${before.acraHealth})`,
      });
    }
    const pcr0 = enclave.Measurements?.PCR0 ?? "";
    if (before.eifPcr0 && pcr0 && before.eifPcr0 !== pcr0) {
      events.push({ enclaveId: enclave.EnclaveID, kind: "enclave.image_changed", severity: "warning", message: `Enclave ${enclave.EnclaveID} on ${hostId} now runs a different image (PCR0 ${pcr0.slice(0, 16)}…)` });
    }
  }
  for (const enclave of stored) {
    if (!seen.has(enclave.id) && enclave.state !== "TERMINATED") {
      events.push({ enclaveId: enclave.id, kind: "enclave.gone", severity: "warning", message: `Enclave ${enclave.id} is no longer reported by ${hostId}` });
    }
  }
  return events;
}

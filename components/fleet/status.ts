import type { Tone } from "@/components/ui/status-badge";

export function attestationTone(state: string): Tone {
  return state === "trusted" ? "ok" : state === "untrusted" ? "bad" : state === "stale" ? "warn" : "unknown";
}

export function enclaveStateTone(state: string): Tone {
  return state === "RUNNING" ? "ok" : state === "TERMINATING" || state === "STARTING" ? "warn" : state === "UNKNOWN" ? "unknown" : "bad";
}

export function hostTone(status: string): Tone {
  return status === "up" ? "ok" : status === "degraded" ? "warn" : status === "down" ? "bad" : "unknown";
}

export function acraTone(health: string): Tone {
  return health === "up" ? "ok" : health === "down" ? "bad" : "unknown";
}

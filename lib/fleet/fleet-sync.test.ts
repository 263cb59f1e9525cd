import { describe, expect, it } from "vitest";
import type { Enclave } from "./agent-protocol";
import { acraHealthOf, diffEnclaves } from "./fleet-sync";

function enclave(overrides: Partial<Enclave> = {}): Enclave {
  return {
    EnclaveName: "acra",
    EnclaveID: "i-0abc-enc0001",
    ProcessID: 10,
    EnclaveCID: 16,
    NumberOfCPUs: 2,
    CPUIDs: [1, 3],
    MemoryMiB: 2048,
    State: "RUNNING",
    Flags: "NONE",
    Measurements: { HashAlgorithm: "Sha384 { ... }", PCR0: "aa".repeat(48), PCR1: "bb".repeat(48), PCR2: "cc".repeat(48) },
    startedAt: "2026-12-04T10:00:00.000Z",
    uptimeSeconds: 60,
    health: { status: "healthy", tcp: "up", checkedAt: "2026-12-04T10:01:00.000Z", lastLogAt: null },
    ...overrides,
  } as Enclave;
}

describe("fleet sync rules", () => {
  it("reports a new enclave, and a debug one loudly", () => {
    const events = diffEnclaves("h1", [], [enclave({ Flags: "DEBUG_MODE" })]);
    expect(events.map((event) => event.kind)).toEqual(["enclave.discovered", "enclave.debug_mode"]);
    expect(events[1]!.severity).toBe("critical");
  });

  it("calls an unexpected exit a crash and an expected one a state change", () => {
    const stored = [{ id: "i-0abc-enc0001", state: "RUNNING", acraHealth: "up", eifPcr0: "aa".repeat(48) }];
    const crash = diffEnclaves("h1", stored, [enclave({ State: "TERMINATED", exit: { at: "2026-12-04T10:02:00.000Z", exitCode: 2, signal: null, expected: false } })]);
    expect(crash).toMatchObject([{ kind: "enclave.crashed", severity: "critical" }]);
    expect(crash[0]!.message).toContain("code 2");
    const stop = diffEnclaves("h1", stored, [enclave({ State: "TERMINATED", exit: { at: "2026-12-04T10:02:00.000Z", exitCode: 0, signal: null, expected: true } })]);
    expect(stop).toMatchObject([{ kind: "enclave.state_changed", severity: "warning" }]);
  });

  it("notices acra going down, a new image, and an enclave that vanished", () => {
    const stored = [
      { id: "i-0abc-enc0001", state: "RUNNING", acraHealth: "up", eifPcr0: "aa".repeat(48) },
      { id: "i-0abc-enc0002", state: "RUNNING", acraHealth: "up", eifPcr0: "aa".repeat(48) },
    ];
    const events = diffEnclaves("h1", stored, [
      enclave({
        health: { status: "down", tcp: "down", checkedAt: null, lastLogAt: null },
        Measurements: { HashAlgorithm: "Sha384 { ... }", PCR0: "dd".repeat(48), PCR1: "bb".repeat(48), PCR2: "cc".repeat(48) },
      }),
    ]);
    expect(events.map((event) => event.kind)).toEqual(["acra.health_changed", "enclave.image_changed", "enclave.gone"]);
    expect(events[0]!.severity).toBe("critical");
  });

  it("stays quiet when nothing changed", () => {
    expect(diffEnclaves("h1", [{ id: "i-0abc-enc0001", state: "RUNNING", acraHealth: "up", eifPcr0: "aa".repeat(48) }], [enclave()])).toEqual([]);
  });

  it("derives Acra's health from the enclave state first", () => {
    expect(acraHealthOf(enclave({ State: "TERMINATED" }))).toBe("down");
    expect(acraHealthOf(enclave({ health: { status: "unknown", tcp: "up", checkedAt: null, lastLogAt: null } }))).toBe("up");
    expect(acraHealthOf(enclave({ health: { status: "unknown", tcp: "unknown", checkedAt: null, lastLogAt: null } }))).toBe("unknown");
  });
});

import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseBuildOutput } from "./index";
import { VECTOR_DIR } from "./test-support";

const NITRO_CLI = path.join(VECTOR_DIR, "nitro-cli");
const read = (file: string) => fs.readFileSync(path.join(NITRO_CLI, file), "utf8");
const HELLO = {
  pcr0: "7fb5c55bc2ecbb68ed99a13d7122abfc0666b926a79d5379bc58b9445c84217f59cfdd36c08b2c79552928702efe23e4",
  pcr1: "235c9e6050abf6b993c915505f3220e2d82b51aff830ad14cbecc2eec1bf0b4ae749d311c663f464cde9f718acca5286",
  pcr2: "0f0ac32c300289e872e6ac4d19b0b5ac4a9b020c98295643ff3978610750ce6a86f7edff24e3c0a4a445f2ff8a9ea79d",
};

describe("parseBuildOutput", () => {
  it("reads nitro-cli build-enclave output (AWS docs example), as text or parsed JSON", () => {
    const text = read("nitro-cli-build-enclave-awsdocs.json");
    expect(parseBuildOutput(text)).toEqual({ ok: true, measurements: HELLO, source: "nitro-cli build-enclave" });
    expect(parseBuildOutput(JSON.parse(text))).toEqual({ ok: true, measurements: HELLO, source: "nitro-cli build-enclave" });
  });

  it("keeps PCR8 of a signed build", () => {
    expect(parseBuildOutput(read("nitro-cli-build-enclave-signed-awsdocs.json"))).toEqual({
      ok: true,
      measurements: { ...HELLO, pcr8: "70da58334a884328944cd806127c7784677ab60a154249fd21546a217299ccfa1ebfe4fa96a163bf41d3bcfaebe68f6f" },
      source: "nitro-cli build-enclave",
    });
  });

  it("recognises describe-eif output", () => {
    expect(parseBuildOutput(read("nitro-cli-describe-eif-CONSTRUCTED.json"))).toEqual({ ok: true, measurements: HELLO, source: "nitro-cli describe-eif" });
  });

  it("names every field whose value is not 96 hex characters (the AWS docs' EXAMPLE-masked values)", () => {
    const result = parseBuildOutput(read("nitro-cli-describe-eif-awsdocs.json"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(3);
    expect(result.errors[0]).toMatch(/^Measurements\.PCR0: expected 96 hex characters/);
    expect(result.errors[1]).toMatch(/^Measurements\.PCR1:/);
    expect(result.errors[2]).toMatch(/^Measurements\.PCR2:/);
  });

  it("reads Enclaver's build stdout (JSON after 'EIF Info:') and lower-cases values", () => {
    const stdout = [
      "Built Release Image: sha256:4c1b7a0e9a7f (registry.example.com/acra-enclave:latest)",
      "EIF Info:",
      JSON.stringify({ Measurements: { PCR0: HELLO.pcr0.toUpperCase(), PCR1: HELLO.pcr1, PCR2: HELLO.pcr2 } }, null, 2),
    ].join("\n");
    expect(parseBuildOutput(stdout)).toEqual({ ok: true, measurements: HELLO, source: "enclaver build" });
  });

  it("reads the older Rust-debug Enclaver form", () => {
    const stdout = `EIFInfo { measurements: EIFMeasurements { pcr0: "${HELLO.pcr0}", pcr1: "${HELLO.pcr1}", pcr2: "${HELLO.pcr2}" } }`;
    expect(parseBuildOutput(stdout)).toEqual({ ok: true, measurements: HELLO, source: "enclaver build" });
  });

  it("rejects other shapes with clear errors", () => {
    const failing: Array<[unknown, RegExp]> = [
      [read("nitro-cli-describe-enclaves-awsdocs.json"), /describe-enclaves/],
      [{}, /Measurements: missing/],
      [{ Measurements: { ...{ PCR0: HELLO.pcr0, PCR1: HELLO.pcr1 } } }, /Measurements\.PCR2: expected a string/],
      [{ Measurements: { HashAlgorithm: "Sha256 { ... }", PCR0: HELLO.pcr0, PCR1: HELLO.pcr1, PCR2: HELLO.pcr2 } }, /HashAlgorithm/],
      [{ Measurements: { PCR0: HELLO.pcr0, PCR1: HELLO.pcr1, PCR2: HELLO.pcr2, PCR9: HELLO.pcr0 } }, /PCR9: unexpected field/],
      [{ Measurements: { PCR0: `${HELLO.pcr0}00`, PCR1: HELLO.pcr1, PCR2: HELLO.pcr2 } }, /PCR0: expected 96 hex/],
      ["Built Release Image: x\nEIF Info:\n{ not json", /EIF Info: not valid JSON/],
      ["nothing here", /not JSON/],
      [42, /must be a JSON object/],
      [null, /must be a JSON object/],
    ];
    for (const [input, pattern] of failing) {
      const result = parseBuildOutput(input);
      expect(result.ok, String(pattern)).toBe(false);
      if (!result.ok) expect(result.errors.join("\n")).toMatch(pattern);
    }
  });
});

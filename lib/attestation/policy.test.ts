import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { attestationPolicySchema, canonicalJson, hashPolicy } from "./index";

const valid = { environment: "staging", allowedReleaseIds: ["rel_1", "rel_2"], allowDebug: true, freshnessSeconds: 300 };

describe("attestationPolicySchema", () => {
  it("accepts a valid body", () => {
    expect(attestationPolicySchema.parse(valid)).toEqual(valid);
  });

  it("forbids debug in production, whatever the case", () => {
    for (const environment of ["production", "Production", " production "]) {
      const result = attestationPolicySchema.safeParse({ ...valid, environment });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["allowDebug"]);
    }
    expect(attestationPolicySchema.safeParse({ ...valid, environment: "production", allowDebug: false }).success).toBe(true);
  });

  it("bounds freshness to 30 s .. 1 day and rejects malformed bodies", () => {
    for (const freshnessSeconds of [29, 86_401, 60.5]) expect(attestationPolicySchema.safeParse({ ...valid, freshnessSeconds }).success).toBe(false);
    for (const freshnessSeconds of [30, 86_400]) expect(attestationPolicySchema.safeParse({ ...valid, freshnessSeconds }).success).toBe(true);
    expect(attestationPolicySchema.safeParse({ ...valid, environment: "" }).success).toBe(false);
    expect(attestationPolicySchema.safeParse({ ...valid, allowedReleaseIds: ["a", "a"] }).success).toBe(false);
    expect(attestationPolicySchema.safeParse({ ...valid, extra: true }).success).toBe(false);
    expect(attestationPolicySchema.safeParse({ ...valid, allowDebug: "false" }).success).toBe(false);
  });
});

describe("hashPolicy", () => {
  it("is the SHA-256 of the sorted-key JSON", () => {
    const expectedJson = '{"allowDebug":true,"allowedReleaseIds":["rel_1","rel_2"],"environment":"staging","freshnessSeconds":300}';
    expect(canonicalJson(valid)).toBe(expectedJson);
    expect(hashPolicy(valid)).toBe(crypto.createHash("sha256").update(expectedJson).digest("hex"));
  });

  it("ignores key order (deeply) but not array order or values", () => {
    const reordered = { freshnessSeconds: 300, allowDebug: true, environment: "staging", allowedReleaseIds: ["rel_1", "rel_2"] };
    expect(hashPolicy(reordered)).toBe(hashPolicy(valid));
    expect(hashPolicy({ a: { y: 1, x: [2, { q: 1, p: 2 }] } })).toBe(hashPolicy({ a: { x: [2, { p: 2, q: 1 }], y: 1 } }));
    expect(hashPolicy({ ...valid, allowedReleaseIds: ["rel_2", "rel_1"] })).not.toBe(hashPolicy(valid));
    expect(hashPolicy({ ...valid, freshnessSeconds: 301 })).not.toBe(hashPolicy(valid));
  });

  it("refuses values JSON cannot carry", () => {
    expect(() => hashPolicy({ x: Number.NaN })).toThrow();
    expect(() => hashPolicy({ x: () => 1 })).toThrow();
  });
});

/**
 * Importing a release's measurements from the build tool's output, so that an approved release carries exactly
 * the PCRs the reproducible build printed. Accepted shapes (research: nitro-attestation.md §7, acra-enclaver.md §5):
 * - `nitro-cli build-enclave`: {"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0", "PCR1", "PCR2"[, "PCR8"]}}
 * - `nitro-cli describe-eif`: the same Measurements plus EifVersion / IsSigned / CheckCRC / SigningCertificate ...
 * - `enclaver build`: stdout "Built Release Image: sha256:<id> (<tag>)\nEIF Info:\n{"Measurements": {"PCR0", ...}}"
 *   (no HashAlgorithm), or the older Rust-debug form `EIFInfo { measurements: EIFMeasurements { pcr0: "…", … } }`.
 */

export interface ReleaseMeasurements {
  pcr0: string;
  pcr1: string;
  pcr2: string;
  pcr8?: string;
}

export type BuildOutputSource = "nitro-cli build-enclave" | "nitro-cli describe-eif" | "enclaver build";

export type BuildOutputResult =
  | { ok: true; measurements: ReleaseMeasurements; source: BuildOutputSource }
  | { ok: false; errors: string[] };

const DESCRIBE_EIF_KEYS = ["EifVersion", "IsSigned", "CheckCRC", "SigningCertificate", "SignatureCheck"];
const MAX_TEXT = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pcrValue(value: unknown, field: string, errors: string[]): string | undefined {
  if (typeof value !== "string") {
    errors.push(`${field}: expected a string of 96 hex characters, got ${value === undefined ? "nothing" : typeof value}`);
    return undefined;
  }
  if (!/^[0-9a-fA-F]{96}$/.test(value)) {
    errors.push(`${field}: expected 96 hex characters (SHA-384), got ${JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value)}`);
    return undefined;
  }
  return value.toLowerCase();
}

function fromMeasurements(measurements: unknown, prefix: string, source: BuildOutputSource): BuildOutputResult {
  if (!isRecord(measurements)) return { ok: false, errors: [`${prefix}: missing or not an object`] };
  const errors: string[] = [];
  const key = (upper: string): unknown => (upper in measurements ? measurements[upper] : measurements[upper.toLowerCase()]);
  const hashAlgorithm = measurements.HashAlgorithm;
  if (hashAlgorithm !== undefined && !(typeof hashAlgorithm === "string" && /^sha384\b/i.test(hashAlgorithm))) {
    errors.push(`${prefix}.HashAlgorithm: expected SHA-384 ("Sha384 { ... }"), got ${JSON.stringify(hashAlgorithm)}`);
  }
  const pcr0 = pcrValue(key("PCR0"), `${prefix}.PCR0`, errors);
  const pcr1 = pcrValue(key("PCR1"), `${prefix}.PCR1`, errors);
  const pcr2 = pcrValue(key("PCR2"), `${prefix}.PCR2`, errors);
  const rawPcr8 = key("PCR8");
  const pcr8 = rawPcr8 === undefined ? undefined : pcrValue(rawPcr8, `${prefix}.PCR8`, errors);
  const known = new Set(["HashAlgorithm", "PCR0", "PCR1", "PCR2", "PCR8", "pcr0", "pcr1", "pcr2", "pcr8"]);
  for (const name of Object.keys(measurements)) if (!known.has(name)) errors.push(`${prefix}.${name}: unexpected field`);
  if (errors.length > 0 || !pcr0 || !pcr1 || !pcr2) return { ok: false, errors };
  return { ok: true, measurements: pcr8 ? { pcr0, pcr1, pcr2, pcr8 } : { pcr0, pcr1, pcr2 }, source };
}

function fromJson(value: unknown, fromEnclaverText: boolean): BuildOutputResult {
  if (Array.isArray(value)) {
    return { ok: false, errors: ["a JSON array is not a build output (describe-enclaves output describes running enclaves, not a release)"] };
  }
  if (!isRecord(value)) return { ok: false, errors: ["build output must be a JSON object"] };
  if (!("Measurements" in value)) return { ok: false, errors: ["Measurements: missing (expected nitro-cli build-enclave/describe-eif or enclaver build output)"] };
  const measurements = value.Measurements;
  let source: BuildOutputSource;
  if (fromEnclaverText) source = "enclaver build";
  else if (DESCRIBE_EIF_KEYS.some((key) => key in value)) source = "nitro-cli describe-eif";
  else if (isRecord(measurements) && "HashAlgorithm" in measurements) source = "nitro-cli build-enclave";
  else source = "enclaver build"; // Enclaver prints the Measurements object without HashAlgorithm.
  return fromMeasurements(measurements, "Measurements", source);
}

/** Rust-debug form printed by older Enclaver versions: EIFInfo { measurements: EIFMeasurements { pcr0: "…", … } }. */
function fromRustDebug(text: string): BuildOutputResult | null {
  const block = /EIFMeasurements\s*\{([^}]*)\}/.exec(text);
  if (!block) return null;
  const fields: Record<string, string> = {};
  for (const match of block[1]!.matchAll(/(pcr\d+)\s*:\s*(?:Some\()?"([^"]*)"\)?/gi)) fields[match[1]!.toLowerCase()] = match[2]!;
  return fromMeasurements(fields, "EIFMeasurements", "enclaver build");
}

/** Parses a build tool's output (a parsed JSON value or the raw stdout text) into release measurements. Never throws. */
export function parseBuildOutput(json: unknown): BuildOutputResult {
  if (typeof json !== "string") return fromJson(json, false);
  if (json.length > MAX_TEXT) return { ok: false, errors: [`build output is larger than ${MAX_TEXT} characters`] };
  const text = json.trim();
  try {
    return fromJson(JSON.parse(text), false);
  } catch {
    // Not bare JSON: look for Enclaver's "EIF Info:" section (stdout also carries the "Built Release Image" line).
  }
  const marker = /EIF Info:\s*/.exec(text);
  if (marker) {
    const rest = text.slice(marker.index + marker[0].length);
    if (rest.startsWith("{")) {
      const end = rest.lastIndexOf("}");
      try {
        return fromJson(JSON.parse(rest.slice(0, end + 1)), true);
      } catch (error) {
        return { ok: false, errors: [`EIF Info: not valid JSON (${error instanceof Error ? error.message : String(error)})`] };
      }
    }
  }
  return fromRustDebug(text) ?? { ok: false, errors: ["not JSON and no Enclaver \"EIF Info:\" section found"] };
}

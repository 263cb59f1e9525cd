/**
 * Parsers for nitro-cli's STDOUT JSON (aws-nitro-enclaves-cli src/common/json_output.rs). Pure: text in, typed
 * value or NitroCliOutputError out. stderr carries human messages ("Start allocating memory...") and is never parsed.
 */
import { z } from "zod";
import { measurementsSchema, enclaveFlagsSchema } from "@/lib/fleet/agent-protocol";

export class NitroCliOutputError extends Error {
  readonly code = "nitro-cli-output";
  constructor(
    readonly command: string,
    message: string,
    /** The first bytes of stdout, for the operator (nitro-cli output holds no secrets). */
    readonly stdoutExcerpt: string,
  ) {
    super(`nitro-cli ${command}: ${message}`);
    this.name = "NitroCliOutputError";
  }
}

const u32 = z.number().int().min(0).max(0xffffffff);

/** nitro-cli also knows TERMINATING and EMPTY; State values are upper case in code (the docs' prose says otherwise). */
export const describeEnclaveEntrySchema = z.object({
  EnclaveName: z.string().optional(),
  EnclaveID: z.string().min(1),
  ProcessID: u32,
  EnclaveCID: z.number().int().nonnegative(),
  NumberOfCPUs: z.number().int().nonnegative(),
  CPUIDs: z.array(u32),
  MemoryMiB: z.number().int().nonnegative(),
  State: z.enum(["RUNNING", "TERMINATING", "EMPTY"]),
  Flags: enclaveFlagsSchema,
  Measurements: measurementsSchema.optional(),
  ImageName: z.string().optional(),
  ImageVersion: z.string().optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
});
export type DescribeEnclaveEntry = z.infer<typeof describeEnclaveEntrySchema>;

/** run-enclave prints the same fields as describe-enclaves minus State, Flags and Measurements. */
export const runEnclaveOutputSchema = describeEnclaveEntrySchema.pick({
  EnclaveName: true,
  EnclaveID: true,
  ProcessID: true,
  EnclaveCID: true,
  NumberOfCPUs: true,
  CPUIDs: true,
  MemoryMiB: true,
});
export type RunEnclaveOutput = z.infer<typeof runEnclaveOutputSchema>;

export const terminateEnclaveOutputSchema = z.object({
  EnclaveName: z.string().optional(),
  EnclaveID: z.string().min(1),
  Terminated: z.boolean(),
});
export type TerminateEnclaveOutput = z.infer<typeof terminateEnclaveOutputSchema>;

export const describeEifOutputSchema = z.object({
  EifVersion: z.number().int().nonnegative().optional(),
  Measurements: measurementsSchema,
  IsSigned: z.boolean().optional(),
  SigningCertificate: z.record(z.string(), z.unknown()).optional(),
  CheckCRC: z.boolean().optional(),
  SignatureCheck: z.boolean().optional(),
  ImageName: z.string().optional(),
  ImageVersion: z.string().optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
});
export type DescribeEifOutput = z.infer<typeof describeEifOutputSchema>;

/** build-enclave prints only the measurements (PCR8 when signed). */
export const buildEnclaveOutputSchema = z.object({ Measurements: measurementsSchema });
export type BuildEnclaveOutput = z.infer<typeof buildEnclaveOutputSchema>;

function parseJson<T>(command: string, stdout: string, schema: z.ZodType<T>): T {
  const excerpt = stdout.slice(0, 200);
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new NitroCliOutputError(command, "stdout is not JSON", excerpt);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? `${first.path.join(".") || "(root)"}: ${first.message}` : "unexpected shape";
    throw new NitroCliOutputError(command, `unexpected JSON shape (${where})`, excerpt);
  }
  return parsed.data;
}

export const parseDescribeEnclaves = (stdout: string): DescribeEnclaveEntry[] =>
  parseJson("describe-enclaves", stdout, z.array(describeEnclaveEntrySchema));
export const parseRunEnclave = (stdout: string): RunEnclaveOutput =>
  parseJson("run-enclave", stdout, runEnclaveOutputSchema);
export const parseTerminateEnclave = (stdout: string): TerminateEnclaveOutput =>
  parseJson("terminate-enclave", stdout, terminateEnclaveOutputSchema);
export const parseDescribeEif = (stdout: string): DescribeEifOutput =>
  parseJson("describe-eif", stdout, describeEifOutputSchema);
export const parseBuildEnclave = (stdout: string): BuildEnclaveOutput =>
  parseJson("build-enclave", stdout, buildEnclaveOutputSchema);

/** `nitro-cli --version` prints "Nitro CLI 1.3.1"; keep the version number. */
export function parseNitroCliVersion(stdout: string): string {
  const m = /(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)/.exec(stdout);
  if (!m?.[1]) throw new NitroCliOutputError("--version", "no version number in output", stdout.slice(0, 200));
  return m[1];
}

/**
 * /etc/nitro_enclaves/allocator.yaml: `memory_mib: 512` and `cpu_count: 2` (or `cpu_pool: 1,3`). A flat file of
 * `key: value` lines, so a line parser avoids a YAML dependency.
 */
export function parseAllocatorYaml(text: string): { cpus: number; memoryMiB: number } {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    const m = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) values.set(m[1], m[2].trim().replace(/^["']|["']$/g, ""));
  }
  const memoryMiB = Number(values.get("memory_mib"));
  let cpus = Number(values.get("cpu_count"));
  const pool = values.get("cpu_pool");
  if (!Number.isInteger(cpus) && pool) cpus = expandCpuPool(pool).length;
  if (!Number.isInteger(memoryMiB) || !Number.isInteger(cpus)) {
    throw new Error("allocator.yaml: expected memory_mib and cpu_count (or cpu_pool)");
  }
  return { cpus, memoryMiB };
}

function expandCpuPool(pool: string): number[] {
  const cpus: number[] = [];
  for (const part of pool.split(",")) {
    const [a, b] = part.trim().split("-").map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let c = a; c <= end; c++) cpus.push(c);
  }
  return cpus;
}

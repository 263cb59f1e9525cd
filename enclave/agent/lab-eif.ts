/**
 * The lab's stand-in for an EIF file: a small JSON file holding what `nitro-cli describe-eif` would print for it,
 * plus a marker so a real EIF is never mistaken for one. Measurements are derived deterministically from the image
 * name and version, the way a reproducible build gives the same PCRs for the same inputs: PCR1 (kernel + boot
 * ramfs) depends only on the kernel, PCR2 on the application, PCR0 on both.
 */
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { describeEifOutputSchema, type DescribeEifOutput } from "./nitro-cli-output";
import { writeFileAtomic } from "./key-store";

export const LAB_EIF_MARKER = "acra-nitro-lab-eif/1";

export const labEifSchema = describeEifOutputSchema.extend({ LabEif: z.literal(LAB_EIF_MARKER) });

const sha384 = (s: string) => crypto.createHash("sha384").update(s).digest("hex");

export interface LabEifSpec {
  /** Application image name, e.g. "acra-server". */
  name: string;
  /** Application version, e.g. "0.96.0-1". Different versions measure differently. */
  version: string;
  /** Boot kernel identity; PCR1 changes only with it. */
  kernel?: string;
  /** Signing certificate identity; when set the image is "signed" and has PCR8. */
  signer?: string;
}

export function labEifDescription(spec: LabEifSpec): DescribeEifOutput {
  const kernel = spec.kernel ?? "lab-kernel-6.1";
  const pcr1 = sha384(`pcr1|${kernel}`);
  const pcr2 = sha384(`pcr2|${spec.name}|${spec.version}`);
  const pcr0 = sha384(`pcr0|${pcr1}|${pcr2}`);
  return {
    EifVersion: 4,
    Measurements: {
      HashAlgorithm: "Sha384 { ... }",
      PCR0: pcr0,
      PCR1: pcr1,
      PCR2: pcr2,
      ...(spec.signer ? { PCR8: sha384(`pcr8|${spec.signer}`) } : {}),
    },
    IsSigned: Boolean(spec.signer),
    CheckCRC: true,
    ImageName: spec.name,
    ImageVersion: spec.version,
  };
}

/** Writes `<file>` (conventionally `<name>-<version>.eif`) and returns its describe-eif view. */
export async function writeLabEif(file: string, spec: LabEifSpec): Promise<DescribeEifOutput> {
  const description = labEifDescription(spec);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify({ LabEif: LAB_EIF_MARKER, ...description }, null, 2) + "\n", 0o644);
  return description;
}

export async function readLabEif(file: string): Promise<DescribeEifOutput> {
  const text = await fs.readFile(file, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not a lab EIF (not JSON)`);
  }
  const parsed = labEifSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a lab EIF`);
  const { LabEif: _marker, ...description } = parsed.data;
  return description;
}

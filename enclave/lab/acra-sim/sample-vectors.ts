/**
 * Test support: reads test/vectors/acra/acra-log-samples.txt (a byte-identical copy of the shared vector file) into
 * its labelled blocks, so tests can address "REAL 3" or "GENERATED format=cef" by name.
 */
import fs from "node:fs";
import path from "node:path";

export const ACRA_VECTOR_DIR = path.resolve(__dirname, "..", "..", "..", "test", "vectors", "acra");

export interface SampleBlock {
  /** e.g. "REAL 1", "GENERATED format=json", "INFERRED". */
  label: string;
  lines: string[];
}

export function loadAcraSampleBlocks(): SampleBlock[] {
  const text = fs.readFileSync(path.join(ACRA_VECTOR_DIR, "acra-log-samples.txt"), "utf8");
  const blocks: SampleBlock[] = [];
  let current: SampleBlock | null = null;
  for (const line of text.split("\n")) {
    const heading = /^## (REAL \d+|GENERATED format=\w+|INFERRED)\b/.exec(line);
    if (heading) {
      current = { label: heading[1] as string, lines: [] };
      blocks.push(current);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    current?.lines.push(line);
  }
  return blocks;
}

export function sampleBlock(label: string): string[] {
  const block = loadAcraSampleBlocks().find((b) => b.label === label);
  if (!block) throw new Error(`no block ${label} in acra-log-samples.txt`);
  return block.lines;
}

/**
 * `npm run bench [-- --json] [-- --filter <text>]`: runs every bench/*.bench.ts and prints a table, or one JSON
 * object {"benchmarks":[{name,value,unit,floor,ratio,goal,ok}]}. Exit code 1 when a benchmark misses its goal.
 */
import fs from "node:fs";
import path from "node:path";
import type { Benchmark } from "./types";

interface Row {
  name: string;
  value: number;
  unit: string;
  floor: number;
  ratio: number;
  goal: number;
  ok: boolean;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const filterIndex = args.indexOf("--filter");
  const filter = filterIndex >= 0 ? args[filterIndex + 1] : undefined;
  const files = fs.readdirSync(__dirname).filter((file) => file.endsWith(".bench.ts")).sort();
  const rows: Row[] = [];
  for (const file of files) {
    const mod = (await import(path.join(__dirname, file))) as { benchmarks: Benchmark[] };
    for (const bench of mod.benchmarks) {
      if (filter && !bench.name.includes(filter)) continue;
      if (!json) process.stderr.write(`running ${bench.name}...\n`);
      const { value, floor } = await bench.run();
      const ratio = bench.better === "higher" ? floor / value : value / floor;
      rows.push({ name: bench.name, value: round(value), unit: bench.unit, floor: round(floor), ratio: round(ratio), goal: bench.goal, ok: ratio <= bench.goal });
    }
  }
  if (json) {
    console.log(JSON.stringify({ benchmarks: rows }));
  } else {
    const header = ["benchmark", "value", "unit", "floor", "ratio", "goal", "ok"];
    const table = [header, ...rows.map((row) => [row.name, String(row.value), row.unit, String(row.floor), row.ratio.toFixed(3), `<= ${row.goal}`, row.ok ? "yes" : "NO"])];
    const widths = header.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
    for (const line of table) console.log(line.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
  }
  return rows.every((row) => row.ok) ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
});

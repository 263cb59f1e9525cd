/**
 * A benchmark measures a value and, in the same run, the floor it is judged against (e.g. the raw primitive the
 * feature is built on). ratio = value / floor for times and sizes, floor / value for throughputs, so 1.0 is the floor
 * and larger is worse. `goal` is the largest acceptable ratio.
 */
export interface BenchmarkResult {
  value: number;
  floor: number;
}

export interface Benchmark {
  name: string;
  unit: string;
  /** "higher" for throughputs (ops/s), "lower" for durations and sizes. */
  better: "higher" | "lower";
  goal: number;
  run(): Promise<BenchmarkResult>;
}

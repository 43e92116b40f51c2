// One measured number of a benchmark, as every bench module reports it.
export interface BenchRow {
  /** What is measured, e.g. "gemm", "gemv", "memory", "openblas". */
  group: string;
  /** The configuration, e.g. "512x768·768x3072 bf16, 2 threads". */
  name: string;
  value: number;
  /** e.g. "GFLOP/s", "GB/s", "tok/s", "s". */
  unit: string;
  /** Context: a ratio to a baseline, why a row was skipped, the environment used. */
  note?: string;
}

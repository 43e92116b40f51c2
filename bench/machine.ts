// The machine's own limits and the libraries we compare with, measured by bench/gemm_baseline.c
// (compiled here with the system C compiler, against OpenBLAS and oneDNN where their -dev packages
// are installed). Shared by the bench modules of one `npm run bench` process: the helper is built
// once and the limits are measured once.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A rate per wall-clock second and per CPU-second × threads (the rate while the threads run). */
export interface Rate {
  wall: number;
  busy: number;
  /** What ran, when the helper says: OpenBLAS's core name, oneDNN's ISA. */
  label?: string;
}
/** A measurement, or why there is none ("n/a" rows say it). */
export type Measured = Rate | { why: string };
export const isRate = (m: Measured | undefined): m is Rate => !!m && "wall" in m;

export interface Baseline {
  exe?: string;
  openblas: boolean;
  dnnl: boolean;
  /** Why the helper, OpenBLAS or oneDNN is missing. */
  why: { exe?: string; openblas?: string; dnnl?: string };
}

let built: Baseline | undefined;

/** The C helper, built once per process into a temporary folder (removed at exit). */
export function baseline(): Baseline {
  if (built) return built;
  const src = path.join(__dirname, "..", "..", "bench", "gemm_baseline.c");
  if (!fs.existsSync(src)) return (built = { openblas: false, dnnl: false, why: { exe: `${src} is missing` } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const exe = path.join(dir, "gemm_baseline");
  // No -march: the FMA loops carry target attributes and run only where the CPU has the feature.
  // -O3 vectorises the read loop (at -O2 it is scalar and measures the adds, not the memory).
  const cc = (extra: string[]) => spawnSync("cc", ["-O3", "-o", exe, src, ...extra, "-lpthread"], { encoding: "utf8" });
  const OPENBLAS = ["-DWITH_OPENBLAS", "-lopenblas"],
    DNNL = ["-DWITH_DNNL", "-ldnnl"];
  const attempts: Array<[boolean, boolean]> = [
    [true, true],
    [true, false],
    [false, true],
    [false, false],
  ];
  let err = "";
  for (const [ob, dn] of attempts) {
    const r = cc([...(ob ? OPENBLAS : []), ...(dn ? DNNL : [])]);
    if (r.status === 0)
      return (built = {
        exe,
        openblas: ob,
        dnnl: dn,
        why: {
          openblas: ob ? undefined : "OpenBLAS (Debian libopenblas-dev) is not installed",
          dnnl: dn ? undefined : "oneDNN (Debian libdnnl-dev) is not installed",
        },
      });
    err ||= r.error?.message ?? r.stderr.trim().split("\n")[0];
  }
  return (built = { openblas: false, dnnl: false, why: { exe: `cannot compile bench/gemm_baseline.c: ${err}` } });
}

/** Runs the helper; a rate, or why not (the helper's own message when it says one). */
export function runBaseline(args: string[], env: NodeJS.ProcessEnv = process.env): Measured {
  const b = baseline();
  if (!b.exe) return { why: b.why.exe ?? "no helper" };
  const r = spawnSync(b.exe, args, { encoding: "utf8", env, timeout: 600_000 });
  const [wall, busy, label] = (r.stdout ?? "").trim().split(/\s+/);
  if (r.status === 0 && Number.isFinite(Number(wall)) && Number.isFinite(Number(busy)))
    return { wall: Number(wall), busy: Number(busy), label: label || undefined };
  return { why: (r.stderr || r.error?.message || `exit status ${r.status}`).trim().split("\n")[0] };
}

/** The environment with OpenBLAS's CPU-type overrides removed, for the one measurement that wants its own choice. */
export function envWithoutOpenblasOverrides(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

export interface MachineLimits {
  threads: number[];
  /** fp32 FMA peak per ISA and thread count. */
  peak: Record<"avx512" | "avx2", Record<number, Measured>>;
  readBw: Measured;
  copyBw: Record<number, Measured>;
  /** OpenBLAS sgemm 2048³ on all threads with OPENBLAS_CORETYPE/L2_SIZE unset: "the machine's fp32 GEMM limit". */
  sgemmLimit: Measured;
}

let limits: MachineLimits | undefined;

/** The memory read rate now: all threads (at most 2) summing a 512 MiB buffer. */
export function measureReadBandwidth(): Measured {
  return runBaseline(["read", String(Math.min(2, os.cpus().length)), "512"]);
}

/** Measured once per process. */
export function machineLimits(): MachineLimits {
  if (limits) return limits;
  const maxThreads = Math.min(2, os.cpus().length);
  const threads = maxThreads > 1 ? [1, 2] : [1];
  const peak: MachineLimits["peak"] = { avx512: {}, avx2: {} };
  const copyBw: Record<number, Measured> = {};
  for (const t of threads) {
    for (const isa of ["avx512", "avx2"] as const) peak[isa][t] = runBaseline(["peak", String(t), isa]);
    copyBw[t] = runBaseline(["copy", String(t), "512"]);
  }
  const readBw = measureReadBandwidth();
  const b = baseline();
  const sgemmLimit: Measured = b.openblas
    ? runBaseline(["sgemm", String(maxThreads), "2048", "2048", "2048", "0"], envWithoutOpenblasOverrides())
    : { why: b.why.openblas ?? b.why.exe ?? "no OpenBLAS" };
  return (limits = { threads, peak, readBw, copyBw, sgemmLimit });
}

// GEMM/GEMV benchmark of the native runtime against this machine's own limits, in one run: the
// fp32 FMA peak of each vector width the CPU has (AVX-512, AVX2), memory bandwidth, OpenBLAS sgemm
// (as the environment sets it up, and with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset so that it
// picks its own kernels) and oneDNN sgemm, then ours on every SIMD path and with bf16 compute, on
// 2048³ and the shapes an RWKV 0.1B tuning step runs (512 tokens, C 768, FFN 3072, vocab 65536,
// LoRA 64; forward Y = X·Wᵀ and backward dX = dY·W). Every number is the median of several timed
// runs. The value is per wall-clock second; the note gives the rate per CPU-second × threads (the
// rate while our threads actually run, which stays meaningful on a busy, shared machine) and how it
// compares with the peak and with OpenBLAS in the same run.
// Run alone: node dist/bench/gemm.js
import * as os from "node:os";
import { native, type NativeAddon, type NativeDType, type SimdPath } from "../kernel/runtime/native";
import type { BenchRow } from "./types";
import {
  baseline,
  envWithoutOpenblasOverrides,
  isRate,
  machineLimits,
  runBaseline,
  type Measured,
  type Rate,
} from "./machine";

const SAMPLES = 5;
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const round = (x: number): number => Math.round(x * 10) / 10;

interface Timing {
  wall: number;
  cpu: number;
}

/** Median wall and process-CPU seconds per call of fn, each sample repeating fn for ≥ minSeconds. */
function timeIt(fn: (repeat: number) => void, minSeconds = 0.15): Timing {
  fn(1); // warm-up: page faults, packing buffers, thread start
  const t0 = process.hrtime.bigint();
  fn(1);
  const once = Math.max(1e-7, Number(process.hrtime.bigint() - t0) / 1e9);
  const repeat = Math.max(1, Math.ceil(minSeconds / once));
  const wall: number[] = [],
    cpu: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t = process.hrtime.bigint(),
      c = process.cpuUsage();
    fn(repeat);
    wall.push(Number(process.hrtime.bigint() - t) / 1e9 / repeat);
    const dc = process.cpuUsage(c);
    cpu.push((dc.user + dc.system) / 1e6 / repeat);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

interface Shape {
  m: number;
  n: number;
  k: number;
  /** B stored [n, k] (an nn.Linear weight, Y = X·Wᵀ) rather than [k, n]. */
  transB: boolean;
  label: string;
  /** B's dtype in our runs: bf16 (the weights' common dtype) unless said. */
  bType?: NativeDType;
}

const SHAPES: Shape[] = [
  { m: 2048, n: 2048, k: 2048, transB: false, label: "2048³", bType: "f32" },
  { m: 512, n: 768, k: 768, transB: true, label: "att R/K/V/O 512×768·768×768ᵀ" },
  { m: 512, n: 3072, k: 768, transB: true, label: "FFN key 512×768·3072×768ᵀ" },
  { m: 512, n: 768, k: 3072, transB: true, label: "FFN value 512×3072·768×3072ᵀ" },
  { m: 512, n: 65536, k: 768, transB: true, label: "head 512×768·65536×768ᵀ" },
  { m: 512, n: 768, k: 768, transB: false, label: "att dX 512×768·768×768" },
  { m: 512, n: 768, k: 3072, transB: false, label: "FFN key dX 512×3072·3072×768" },
  { m: 512, n: 3072, k: 768, transB: false, label: "FFN value dX 512×768·768×3072" },
  { m: 512, n: 768, k: 65536, transB: false, label: "head dX 512×65536·65536×768" },
  { m: 512, n: 64, k: 768, transB: false, label: "LoRA down 512×768·768×64" },
  { m: 512, n: 768, k: 64, transB: false, label: "LoRA up 512×64·64×768" },
  { m: 512, n: 768, k: 64, transB: true, label: "LoRA down dX 512×64·768×64ᵀ" },
];

function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}
function toBf16(a: Float32Array): Uint16Array {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length),
    out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = u[i] >>> 16;
  return out;
}

interface Operands {
  a: Float32Array;
  b: Float32Array | Uint16Array;
  c: Float32Array;
}
const operandCache = new Map<string, Operands>();
function operands(s: Shape, bType: NativeDType): Operands {
  const key = `${s.m} ${s.n} ${s.k} ${bType}`;
  let o = operandCache.get(key);
  if (!o) {
    const bf = randomF32(s.n * s.k);
    o = { a: randomF32(s.m * s.k), b: bType === "bf16" ? toBf16(bf) : bf, c: new Float32Array(s.m * s.n) };
    operandCache.clear(); // one shape's operands at a time (the head's are 200 MB in fp32)
    operandCache.set(key, o);
  }
  return o;
}

/** Time per C[m,n] = A[m,k]·op(B) on the current SIMD path. */
function timeMatmul(addon: NativeAddon, s: Shape, bType: NativeDType, threads: number, precision: "f32" | "bf16") {
  addon.setThreads(threads);
  const { a, b, c } = operands(s, bType);
  return timeIt((repeat) =>
    addon.matmul({ m: s.m, n: s.n, k: s.k, a, b, bType, transB: s.transB, c, repeat, precision }),
  );
}

const rate = (work: number, t: Timing, threads: number): Rate => ({
  wall: work / t.wall,
  busy: (work * threads) / t.cpu,
});
const threadsLabel = (t: number) => `${t} thread${t > 1 ? "s" : ""}`;
const pct = (x: number, of: number) => `${Math.round((100 * x) / of)}%`;

export async function runGemmBench(): Promise<BenchRow[]> {
  const addon = native();
  const rows: BenchRow[] = [];
  const info = addon.info();
  const before = { threads: info.threads, simd: info.simd };
  const maxThreads = Math.min(2, os.cpus().length);
  const push = (group: string, name: string, m: Measured, unit: string, note: string) =>
    rows.push(
      isRate(m)
        ? { group, name, value: round(m.wall), unit, note }
        : { group, name, value: NaN, unit, note: `n/a: ${m.why}` },
    );

  // Machine limits first, so every later row can say how close it gets.
  const lim = machineLimits();
  for (const isa of ["avx512", "avx2"] as const)
    for (const t of lim.threads) {
      const p = lim.peak[isa][t];
      push(
        "machine",
        `fp32 FMA peak ${isa}, ${threadsLabel(t)}`,
        p,
        "GFLOP/s",
        isRate(p) ? `busy ${round(p.busy)}` : "",
      );
    }
  for (const t of lim.threads) {
    const c = lim.copyBw[t];
    push("machine", `memory copy (2×512 MiB), ${threadsLabel(t)}`, c, "GB/s", isRate(c) ? `read + written` : "");
  }
  push(
    "machine",
    `memory read (512 MiB), ${threadsLabel(maxThreads)}`,
    lim.readBw,
    "GB/s",
    isRate(lim.readBw) ? `${lim.readBw.label} loads; busy ${round(lim.readBw.busy)}` : "",
  );
  const widest: "avx512" | "avx2" = isRate(lim.peak.avx512[1]) ? "avx512" : "avx2";
  const peakOf = (path: SimdPath, t: number): { isa: string; m: Measured | undefined } => {
    const isa = path === "avx2" ? "avx2" : widest; // portable is measured against the widest peak
    return { isa, m: lim.peak[isa][t] };
  };

  const base = baseline();
  const paths = info.cpu.simdPaths;
  try {
    for (const s of SHAPES) {
      const flop = (2 * s.m * s.n * s.k) / 1e9;
      const shapeArgs = [String(s.m), String(s.n), String(s.k), s.transB ? "1" : "0"];
      const threadsFor = (all: boolean) => (all || s.m * s.n * s.k >= 2048 ** 3 ? lim.threads : [maxThreads]);
      // The libraries (fp32 only), OpenBLAS with its own kernel choice as the reference of each shape.
      const ref: Record<number, Measured> = {};
      if (base.openblas) {
        for (const t of threadsFor(false)) {
          ref[t] = runBaseline(["sgemm", String(t), ...shapeArgs], envWithoutOpenblasOverrides());
          const r = ref[t];
          push(
            "openblas",
            `${s.label}, ${threadsLabel(t)}, OPENBLAS_CORETYPE/L2_SIZE unset`,
            r,
            "GFLOP/s",
            isRate(r) ? `kernels ${r.label}; busy ${round(r.busy)}` : "",
          );
        }
        const asIs = runBaseline(["sgemm", String(maxThreads), ...shapeArgs]);
        const setting = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
          .map((k) => `${k}=${process.env[k] ?? "(unset)"}`)
          .join(" ");
        push(
          "openblas",
          `${s.label}, ${threadsLabel(maxThreads)}, environment as is (${setting})`,
          asIs,
          "GFLOP/s",
          isRate(asIs) ? `kernels ${asIs.label}; busy ${round(asIs.busy)}` : "",
        );
      } else {
        push("openblas", s.label, { why: base.why.openblas ?? base.why.exe ?? "" }, "GFLOP/s", "");
      }
      if (base.dnnl) {
        for (const t of threadsFor(false)) {
          const r = runBaseline(["dnnl", String(t), ...shapeArgs], { ...process.env, OMP_NUM_THREADS: String(t) });
          const vs = isRate(r) && isRate(ref[t]) ? `; ${(r.busy / ref[t].busy).toFixed(2)}× OpenBLAS` : "";
          push(
            "onednn",
            `${s.label}, ${threadsLabel(t)}`,
            r,
            "GFLOP/s",
            isRate(r) ? `ISA ${r.label}; busy ${round(r.busy)}${vs}` : "",
          );
        }
      } else {
        push("onednn", s.label, { why: base.why.dnnl ?? base.why.exe ?? "" }, "GFLOP/s", "");
      }

      // Ours: every path, fp32 compute; bf16 compute where the CPU has it.
      const bType = s.bType ?? "bf16";
      const runs: Array<{ path: SimdPath; precision: "f32" | "bf16"; threads: number[] }> = [
        { path: "avx512", precision: "f32", threads: lim.threads },
        { path: "avx512", precision: "bf16", threads: lim.threads },
        { path: "avx2", precision: "f32", threads: lim.threads },
        { path: "portable", precision: "f32", threads: [maxThreads] },
      ];
      for (const run of runs) {
        if (run.precision === "bf16" && bType !== "bf16") continue;
        const what = `ours ${run.path}${run.precision === "bf16" ? " bf16 compute" : ""}, ${bType} B`;
        if (!paths.includes(run.path)) {
          push("gemm", `${s.label}: ${what}`, { why: `this CPU cannot run the ${run.path} path` }, "GFLOP/s", "");
          continue;
        }
        addon.setSimd(run.path);
        if (run.precision === "bf16" && !addon.info().bf16Compute) {
          push("gemm", `${s.label}: ${what}`, { why: "this CPU has no AVX512_BF16" }, "GFLOP/s", "");
          continue;
        }
        for (const t of run.threads) {
          const r = rate(flop, timeMatmul(addon, s, bType, t, run.precision), t);
          const pk = peakOf(run.path, t);
          const notes = [`busy ${round(r.busy)}`];
          if (isRate(pk.m)) notes.push(`${pct(r.busy, pk.m.busy)} of the ${pk.isa} FMA peak`);
          if (isRate(ref[t])) notes.push(`${(r.busy / ref[t].busy).toFixed(2)}× OpenBLAS ${ref[t].label}`);
          push("gemm", `${s.label}: ${what}, ${threadsLabel(t)}`, r, "GFLOP/s", notes.join("; "));
        }
      }
      operandCache.clear();
    }

    // RNN mode: one token, streaming GEMV on the best path; reported as weight bytes read per second.
    addon.setSimd(paths[0]);
    const gemv: Shape[] = [
      { m: 1, n: 3072, k: 768, transB: true, label: "1×768·3072×768ᵀ (FFN key)" },
      { m: 1, n: 768, k: 3072, transB: true, label: "1×3072·768×3072ᵀ (FFN value)" },
      { m: 1, n: 65536, k: 768, transB: true, label: "1×768·65536×768ᵀ (head)" },
    ];
    const bf16c = addon.info().bf16Compute;
    for (const s of gemv)
      for (const [bType, precision] of [["f32", "f32"], ["bf16", "f32"], ...(bf16c ? [["bf16", "bf16"]] : [])] as Array<
        [NativeDType, "f32" | "bf16"]
      >) {
        const t = timeMatmul(addon, s, bType, maxThreads, precision);
        const r = rate((s.n * s.k * (bType === "bf16" ? 2 : 4)) / 1e9, t, maxThreads);
        const bw = lim.readBw;
        push(
          "gemv",
          `${s.label} ${bType}${precision === "bf16" ? " bf16 compute" : ""}, ${paths[0]}, ${threadsLabel(maxThreads)}`,
          r,
          "GB/s",
          `${round(t.wall * 1e6)} µs/call; busy ${round(r.busy)}` +
            (isRate(bw) ? ` = ${pct(r.busy, bw.busy)} of memory read` : ""),
        );
      }
    // Thread-pool overhead: a product too small to be worth anything but the fan-out itself.
    const tiny: Shape = { m: 1, n: 4096, k: 16, transB: true, label: "1×16·4096×16ᵀ" };
    for (const t of lim.threads) {
      const tt = timeMatmul(addon, tiny, "f32", t, "f32");
      rows.push({
        group: "gemv",
        name: `${tiny.label} f32 (fan-out cost), ${threadsLabel(t)}`,
        value: Math.round(tt.wall * 1e7) / 10,
        unit: "µs/call",
      });
    }
  } finally {
    addon.setThreads(before.threads);
    addon.setSimd(before.simd);
  }
  return rows;
}

if (require.main === module) {
  runGemmBench().then(
    (rows) => {
      for (const r of rows)
        console.log(
          `${r.group.padEnd(9)} ${r.name.padEnd(72)} ${String(r.value).padStart(8)} ${r.unit}` +
            (r.note ? "  " + r.note : ""),
        );
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}

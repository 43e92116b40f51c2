// GEMM/GEMV benchmark of the native runtime against this machine's own limits: fp32 FMA peak,
// memory bandwidth (both measured by bench/gemm_baseline.c, compiled here with the system C
// compiler) and Debian's OpenBLAS sgemm. Every number is the median of several timed runs.
// Each rate is given per wall-clock second (the value) and, in the note, per CPU-second × threads:
// the rate while our threads actually run, which stays meaningful on a busy shared machine.
// Run alone: node dist/bench/gemm.js
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { native, type NativeAddon, type NativeDType } from "../kernel/runtime/native";
import type { BenchRow } from "./types";

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
  label: string;
}

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

/** Time per C[m,n] = A[m,k]·Bᵀ with B an nn.Linear weight [n,k] of the given dtype. */
function timeMatmul(addon: NativeAddon, s: Shape, bType: NativeDType, threads: number): Timing {
  addon.setThreads(threads);
  const a = randomF32(s.m * s.k),
    bf = randomF32(s.n * s.k),
    c = new Float32Array(s.m * s.n);
  const b = bType === "bf16" ? toBf16(bf) : bf;
  return timeIt((repeat) => addon.matmul({ m: s.m, n: s.n, k: s.k, a, b, bType, transB: true, c, repeat }));
}

/** The C helper, built once per process into a temporary folder; undefined with the reason when it cannot be. */
function buildBaseline(): { exe?: string; openblas: boolean; why?: string } {
  const src = path.join(__dirname, "..", "..", "bench", "gemm_baseline.c");
  if (!fs.existsSync(src)) return { openblas: false, why: `${src} is missing` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-"));
  const exe = path.join(dir, "gemm_baseline");
  const cc = (extra: string[]) =>
    spawnSync("cc", ["-O2", "-march=native", "-o", exe, src, ...extra, "-lpthread"], { encoding: "utf8" });
  let r = cc(["-DWITH_OPENBLAS", "-lopenblas"]);
  if (r.status === 0) return { exe, openblas: true };
  r = cc([]);
  if (r.status === 0) return { exe, openblas: false, why: "OpenBLAS (libopenblas-dev) is not installed" };
  return {
    openblas: false,
    why: `cannot compile bench/gemm_baseline.c: ${r.error?.message ?? r.stderr.trim().split("\n")[0]}`,
  };
}

/** A rate per wall-clock second and per CPU-second × threads. */
interface Rate {
  wall: number;
  busy: number;
}
const rate = (work: number, t: Timing, threads: number): Rate => ({
  wall: work / t.wall,
  busy: (work * threads) / t.cpu,
});

function runBaseline(exe: string, args: string[], env: NodeJS.ProcessEnv = process.env): Rate | undefined {
  const r = spawnSync(exe, args, { encoding: "utf8", env, timeout: 300_000 });
  const [wall, busy] = (r.stdout ?? "").trim().split(/\s+/).map(Number);
  return r.status === 0 && Number.isFinite(wall) && Number.isFinite(busy) ? { wall, busy } : undefined;
}

/** The note of a rate: its busy-thread value and how it compares with the same for a limit. */
const busyNote = (r: Rate, limit: Rate | undefined, what: string): string =>
  `busy threads: ${round(r.busy)}` +
  (limit ? ` = ${Math.round((100 * r.busy) / limit.busy)}% of ${what} ${round(limit.busy)}` : "");

export async function runGemmBench(): Promise<BenchRow[]> {
  const addon = native();
  const rows: BenchRow[] = [];
  const before = addon.info().threads;
  const maxThreads = Math.min(2, os.cpus().length);
  const threadCounts = maxThreads > 1 ? [1, 2] : [1];
  const threads = (t: number) => `${t} thread${t > 1 ? "s" : ""}`;
  const push = (group: string, name: string, r: Rate, unit: string, note: string) =>
    rows.push({ group, name, value: round(r.wall), unit, note });

  // Machine limits first, so every later row can say how close it gets.
  const base = buildBaseline();
  const peak: Record<number, Rate | undefined> = {};
  let readBw: Rate | undefined;
  if (base.exe) {
    for (const t of threadCounts) {
      peak[t] = runBaseline(base.exe, ["peak", String(t)]);
      if (peak[t])
        push("machine", `fp32 FMA peak, ${threads(t)}`, peak[t]!, "GFLOP/s", busyNote(peak[t]!, undefined, ""));
      const copy = runBaseline(base.exe, ["copy", String(t), "512"]);
      if (copy)
        push(
          "machine",
          `memory copy (memcpy, 2×512 MiB), ${threads(t)}`,
          copy,
          "GB/s",
          `bytes read + written; ${busyNote(copy, undefined, "")}`,
        );
    }
    readBw = runBaseline(base.exe, ["read", String(maxThreads), "512"]);
    if (readBw)
      push(
        "machine",
        `memory read (sum of 512 MiB), ${threads(maxThreads)}`,
        readBw,
        "GB/s",
        busyNote(readBw, undefined, ""),
      );
  } else {
    // Without a C compiler: a single-threaded copy from JavaScript (TypedArray.set is a memcpy).
    const src = new Float64Array(64 << 20).fill(1),
      dst = new Float64Array(64 << 20);
    const t = timeIt((repeat) => {
      for (let i = 0; i < repeat; i++) dst.set(src);
    });
    push(
      "machine",
      "memory copy (TypedArray.set, 2×512 MiB), 1 thread",
      rate((2 * src.byteLength) / 1e9, t, 1),
      "GB/s",
      base.why ?? "",
    );
  }

  try {
    // Sequence mode: packed GEMM.
    const shapes: Array<{ s: Shape; types: NativeDType[]; threads: number[] }> = [
      { s: { m: 2048, n: 2048, k: 2048, label: "2048³" }, types: ["f32"], threads: threadCounts },
      {
        s: { m: 512, n: 768, k: 768, label: "512×768·768×768 (att R/K/V/O)" },
        types: ["f32", "bf16"],
        threads: threadCounts,
      },
      {
        s: { m: 512, n: 3072, k: 768, label: "512×768·768×3072 (FFN key)" },
        types: ["f32", "bf16"],
        threads: threadCounts,
      },
      {
        s: { m: 512, n: 768, k: 3072, label: "512×3072·3072×768 (FFN value)" },
        types: ["f32", "bf16"],
        threads: threadCounts,
      },
      {
        s: { m: 512, n: 65536, k: 768, label: "512×768·768×65536 (head)" },
        types: ["f32", "bf16"],
        threads: [maxThreads],
      },
    ];
    for (const { s, types, threads: ts } of shapes)
      for (const bType of types)
        for (const t of ts) {
          const r = rate((2 * s.m * s.n * s.k) / 1e9, timeMatmul(addon, s, bType, t), t);
          push("gemm", `${s.label} ${bType}, ${threads(t)}`, r, "GFLOP/s", busyNote(r, peak[t], "FMA peak"));
        }

    // RNN mode: one token, streaming GEMV; reported as weight bytes read per second.
    const gemv: Shape[] = [
      { m: 1, n: 3072, k: 768, label: "1×768·768×3072 (FFN key)" },
      { m: 1, n: 768, k: 3072, label: "1×3072·3072×768 (FFN value)" },
      { m: 1, n: 65536, k: 768, label: "1×768·768×65536 (head)" },
    ];
    for (const s of gemv)
      for (const bType of ["f32", "bf16"] as const) {
        const t = timeMatmul(addon, s, bType, maxThreads);
        const r = rate((s.n * s.k * (bType === "bf16" ? 2 : 4)) / 1e9, t, maxThreads);
        push(
          "gemv",
          `${s.label} ${bType}, ${threads(maxThreads)}`,
          r,
          "GB/s",
          `${round(t.wall * 1e6)} µs/call; ${busyNote(r, readBw, "memory read")}`,
        );
      }
    // Thread-pool overhead: a product too small to be worth anything but the fan-out itself.
    const tiny: Shape = { m: 1, n: 4096, k: 16, label: "1×16·16×4096" };
    for (const t of threadCounts) {
      const tt = timeMatmul(addon, tiny, "f32", t);
      rows.push({
        group: "gemv",
        name: `${tiny.label} f32 (fan-out cost), ${threads(t)}`,
        value: round(tt.wall * 1e6 * 10) / 10,
        unit: "µs/call",
      });
    }
  } finally {
    addon.setThreads(before);
  }

  // Debian OpenBLAS, as the environment has it and with its CPU-type overrides removed.
  if (base.exe && base.openblas) {
    const envUnset = { ...process.env };
    delete envUnset.OPENBLAS_CORETYPE;
    delete envUnset.OPENBLAS_L2_SIZE;
    const setting = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
      .map((k) => `${k}=${process.env[k] ?? "(unset)"}`)
      .join(" ");
    const runs: Array<[string, NodeJS.ProcessEnv]> = [
      [`environment as is: ${setting}`, process.env],
      ["OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset", envUnset],
    ];
    for (const [label, env] of runs) {
      const name = `sgemm 2048³, ${threads(maxThreads)}, ${label}`;
      const r = runBaseline(base.exe, ["sgemm", String(maxThreads), "2048"], env);
      if (r) push("openblas", name, r, "GFLOP/s", busyNote(r, peak[maxThreads], "FMA peak"));
      else rows.push({ group: "openblas", name, value: NaN, unit: "GFLOP/s", note: "the OpenBLAS run failed" });
    }
  } else {
    rows.push({ group: "openblas", name: "sgemm 2048³", value: NaN, unit: "GFLOP/s", note: `skipped: ${base.why}` });
  }
  if (base.exe) fs.rmSync(path.dirname(base.exe), { recursive: true, force: true });
  return rows;
}

if (require.main === module) {
  runGemmBench().then(
    (rows) => {
      for (const r of rows)
        console.log(
          `${r.group.padEnd(9)} ${r.name.padEnd(58)} ${String(r.value).padStart(8)} ${r.unit}` +
            (r.note ? "  " + r.note : ""),
        );
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}

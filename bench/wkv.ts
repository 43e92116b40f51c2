// WKV operator benchmark at the 0.1B shape (B=1, T=512, H=12, N=64): RWKV-7 and RWKV-6, forward and
// backward, per variant (reference; sequential and chunked on every SIMD path this CPU has), 1 and
// 2 threads. The value is wall ms per call; the note gives CPU ms per call (the time our threads
// actually ran, which stays meaningful on a busy machine), the speed-up over the reference in the
// same run, and which variant "auto" picks. Run alone: node dist/bench/run.js wkv
import * as os from "node:os";
import { native, type NativeAddon, type SimdPath, type WkvImpl } from "../kernel/runtime/native";
import type { BenchRow } from "./types";

const SHAPE = { B: 1, T: 512, H: 12, N: 64 };
const ROUNDS = 5;

interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Milliseconds per call: each round runs the op `repeat` times inside one binding call (so the binding's own
 * allocations are spread over many runs) and the fastest round counts: on a shared machine, other load only
 * ever adds time.
 */
function timeOp(run: (repeat: number) => void, minSeconds = 0.15): Timing {
  run(1); // warm-up: scratch buffers, thread start
  const t0 = performance.now();
  run(1);
  const repeat = Math.max(2, Math.ceil((minSeconds * 1000) / Math.max(0.01, performance.now() - t0)));
  let wall = Infinity,
    cpu = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const c = process.cpuUsage(),
      t = performance.now();
    run(repeat);
    wall = Math.min(wall, (performance.now() - t) / repeat);
    const dc = process.cpuUsage(c);
    cpu = Math.min(cpu, (dc.user + dc.system) / 1000 / repeat);
  }
  return { wall, cpu };
}

function random(n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random();
  return a;
}

// "given the forward's saves": the backward as a training step runs it, from what the forward kept
// (cpu/wkv7.h), without a forward pass of its own; the reference ignores them.
type Op =
  | "RWKV-7 forward"
  | "RWKV-7 backward"
  | "RWKV-7 backward given the forward's saves"
  | "RWKV-6 forward"
  | "RWKV-6 backward";
const OPS: Op[] = [
  "RWKV-7 forward",
  "RWKV-7 backward",
  "RWKV-7 backward given the forward's saves",
  "RWKV-6 forward",
  "RWKV-6 backward",
];

/** One call of each op on fixed random operands of the model's ranges. */
function makeOps(A: NativeAddon): Record<Op, (impl: WkvImpl, repeat: number) => void> {
  const { B, T, H, N } = SHAPE,
    sh = SHAPE,
    n = B * T * H * N,
    ns = B * H * N * N;
  const r = random(n, -1, 1),
    k = random(n, -1, 1),
    v = random(n, -1, 1),
    wHat = random(n, -3, -0.6),
    a = random(n, -0.1, 0.1),
    b = random(n, -0.1, 0.1),
    dy = random(n, -1, 1),
    s0 = random(ns, -1, 1),
    u = random(H * N, -1, 1);
  const decay = wHat.map((x) => Math.exp(-Math.exp(x)));
  const y = new Float32Array(n),
    state = new Float32Array(ns),
    ds = new Float32Array(ns);
  const g = Array.from({ length: 6 }, () => new Float32Array(n));
  const ck = A.wkv6Forward(sh, r, k, v, decay, u, Float32Array.from(s0), y);
  const saved = new Float32Array(A.wkv7SavedFloats(sh));
  A.wkv7Forward(sh, r, wHat, k, v, a, b, Float32Array.from(s0), y, { saved });
  return {
    "RWKV-7 forward": (impl, repeat) => A.wkv7Forward(sh, r, wHat, k, v, a, b, state.fill(0), y, { impl, repeat }),
    "RWKV-7 backward": (impl, repeat) =>
      A.wkv7Backward(sh, r, wHat, k, v, a, b, s0, dy, null, g[0], g[1], g[2], g[3], g[4], g[5], ds, { impl, repeat }),
    "RWKV-7 backward given the forward's saves": (impl, repeat) =>
      A.wkv7Backward(sh, r, wHat, k, v, a, b, s0, dy, null, g[0], g[1], g[2], g[3], g[4], g[5], ds, {
        impl,
        repeat,
        saved,
      }),
    "RWKV-6 forward": (impl, repeat) => {
      A.wkv6Forward(sh, r, k, v, decay, u, state.fill(0), y, { impl, repeat, checkpoints: ck });
    },
    "RWKV-6 backward": (impl, repeat) =>
      A.wkv6Backward(sh, r, k, v, decay, u, ck, dy, ds.fill(0), g[0], g[1], g[2], g[3], null, { impl, repeat }),
  };
}

export async function runWkvBench(): Promise<BenchRow[]> {
  const A = native();
  if (typeof A.wkvChoice !== "function") return [];
  const rows: BenchRow[] = [];
  const before = { simd: A.info().simd, threads: A.info().threads };
  const paths: SimdPath[] = A.info().cpu.simdPaths;
  const threadCounts = Math.min(2, os.cpus().length) > 1 ? [1, 2] : [1];
  const ops = makeOps(A);
  const shape = `B${SHAPE.B} T${SHAPE.T} H${SHAPE.H} N${SHAPE.N}`;
  try {
    for (const op of OPS)
      for (const threads of threadCounts) {
        A.setThreads(threads);
        const where = `${op}, ${shape}, ${threads} thread${threads > 1 ? "s" : ""}`;
        A.setSimd(paths[0]);
        const ref = timeOp((repeat) => ops[op]("reference", repeat));
        rows.push({
          group: "wkv",
          name: `${where}, reference`,
          value: ref.wall,
          unit: "ms",
          note: `cpu ${ref.cpu.toFixed(2)} ms`,
        });
        for (const path of paths) {
          A.setSimd(path);
          const auto = A.wkvChoice(
            op.startsWith("RWKV-7") ? 7 : 6,
            op.includes("backward"),
            SHAPE,
            op.includes("saves"),
          );
          for (const impl of ["sequential", "chunked"] as const) {
            const t = timeOp((repeat) => ops[op](impl, repeat));
            rows.push({
              group: "wkv",
              name: `${where}, ${path} ${impl}`,
              value: t.wall,
              unit: "ms",
              note:
                `cpu ${t.cpu.toFixed(2)} ms, ${(ref.cpu / t.cpu).toFixed(1)}× reference (cpu)` +
                (auto === impl ? ", auto's choice" : ""),
            });
          }
        }
      }
  } finally {
    A.setSimd(before.simd);
    A.setThreads(before.threads);
  }
  return rows;
}

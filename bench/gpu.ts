// GPU benchmark of the CUDA backend (RWKV-7, random weights): forward tokens/s and state-tuning step
// time for the 0.1B/1.5B/2.9B World shapes with bf16 and nf4 weights, peak GPU memory beside
// RWKV-PEFT's published table, and the rate of the step's GEMMs (timed with CUDA events) beside the
// card's bf16 rate as cuBLAS reaches it on 8192³. Prints a table; writes JSON with --out.
// Usage: node dist/bench/gpu.js [--sizes 0.1B,1.5B,2.9B] [--ctx 1024] [--reps 3]
//        [--quant none,nf4] [--budget-s 420] [--out file.json]
// Weights are made in memory (a random-bf16 pool tiled over each tensor) rather than through a
// checkpoint file: the 1.5B file would be 3 GB of disk and minutes of writing on a borrowed card.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { native, type NativeModel, type NativeTensor } from "../kernel/runtime/native";
import type { ModelDims } from "../kernel/runtime/model/dims";

interface Shape {
  name: string;
  L: number;
  C: number;
  Dw: number;
  Da: number;
  Dv: number;
  Dg: number;
}
// docs/spec.md §1.2 (RWKV-7 World release shapes); V = 65536, N = 64, F = 4C.
const SHAPES: Shape[] = [
  { name: "0.1B", L: 12, C: 768, Dw: 64, Da: 64, Dv: 32, Dg: 128 },
  { name: "0.4B", L: 24, C: 1024, Dw: 64, Da: 64, Dv: 32, Dg: 128 },
  { name: "1.5B", L: 24, C: 2048, Dw: 96, Da: 96, Dv: 64, Dg: 256 },
  { name: "2.9B", L: 32, C: 2560, Dw: 96, Da: 96, Dv: 64, Dg: 320 },
];
// RWKV-PEFT's README: GPU memory of state tuning at ctx 1024, batch 1 (GB), by weight storage.
const PEFT_GB: Record<string, Record<string, number>> = {
  "0.1B": { none: 2.6, nf4: 2.5 },
  "1.5B": { none: 5.3, nf4: 3.7 },
  "2.9B": { none: 8.2, nf4: 4.7 },
};
const V = 65536,
  N = 64;
// Dense bf16 tensor-core peak (fp32 accumulate) from vendor datasheets, TFLOP/s, by device-name match.
const PEAK_TFLOPS: [RegExp, number][] = [
  [/H200|H100.*(SXM|HBM3)/i, 989],
  [/H100/i, 756],
  [/A100/i, 312],
  [/L40S/i, 362],
  [/L40\b/i, 181],
  [/RTX 4090/i, 165],
  [/A6000/i, 155],
  [/A10\b/i, 125],
  [/L4\b/i, 121],
  [/RTX 3090/i, 71],
];

function bf16Pool(scale: number, seed: number): Uint16Array {
  const pool = new Uint16Array(1 << 20),
    f = new Float32Array(1),
    u = new Uint32Array(f.buffer);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < pool.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    f[0] = ((s / 4294967296) * 2 - 1) * scale;
    pool[i] = u[0] >>> 16;
  }
  return pool;
}

class RandomWeights {
  private pools = new Map<number, Uint16Array>();
  matrix(rows: number, cols: number, scale: number): NativeTensor {
    let pool = this.pools.get(scale);
    if (!pool) {
      pool = bf16Pool(scale, this.pools.size + 1);
      this.pools.set(scale, pool);
    }
    const n = rows * cols,
      out = new Uint16Array(n),
      step = pool.length - 1024;
    for (let o = 0, k = 0; o < n; o += step, k++) {
      const shift = (k * 7919) % 1024; // shifted copies, so consecutive chunks differ
      out.set(pool.subarray(shift, shift + Math.min(step, n - o)), o);
    }
    return { dtype: "bf16", shape: [rows, cols], data: out };
  }
  vector(shape: number[], value: (i: number) => number): NativeTensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: "f32", shape, data: Float32Array.from({ length: n }, (_, i) => value(i)) };
  }
}

function buildModel(s: Shape, quant: string): { model: NativeModel; config: Omit<ModelDims, "lora"> } {
  const { L, C } = s,
    H = C / N,
    F = 4 * C,
    w = new RandomWeights(),
    t: Record<string, NativeTensor> = {};
  const ones = (n: number) => w.vector([n], () => 1),
    zeros = (n: number) => w.vector([n], () => 0);
  const mix = () => w.vector([1, 1, C], (i) => ((i * 37) % 100) / 100);
  t["emb.weight"] = w.matrix(V, C, 1e-1);
  t["blocks.0.ln0.weight"] = ones(C);
  t["blocks.0.ln0.bias"] = zeros(C);
  for (let l = 0; l < L; l++) {
    const p = `blocks.${l}.`;
    for (const n of ["ln1", "ln2", "att.ln_x"]) {
      t[p + n + ".weight"] = ones(C);
      t[p + n + ".bias"] = zeros(C);
    }
    for (const m of ["x_r", "x_w", "x_k", "x_v", "x_a", "x_g"]) t[p + "att." + m] = mix();
    t[p + "att.w0"] = w.vector([1, 1, C], (i) => -6 + (5 * ((i * 13) % 64)) / 64);
    t[p + "att.a0"] = w.vector([1, 1, C], () => 0);
    t[p + "att.k_k"] = w.vector([1, 1, C], () => 0.85);
    t[p + "att.k_a"] = w.vector([1, 1, C], () => 1);
    t[p + "att.r_k"] = w.vector([H, N], () => 0.1);
    t[p + "att.w1"] = w.matrix(C, s.Dw, 0.1);
    t[p + "att.w2"] = w.matrix(s.Dw, C, 0.1);
    t[p + "att.a1"] = w.matrix(C, s.Da, 0.1);
    t[p + "att.a2"] = w.matrix(s.Da, C, 0.1);
    t[p + "att.g1"] = w.matrix(C, s.Dg, 0.1);
    t[p + "att.g2"] = w.matrix(s.Dg, C, 0.1);
    if (l > 0) {
      t[p + "att.v0"] = w.vector([1, 1, C], () => 0);
      t[p + "att.v1"] = w.matrix(C, s.Dv, 0.1);
      t[p + "att.v2"] = w.matrix(s.Dv, C, 0.1);
    }
    const lin = 1 / Math.sqrt(C);
    for (const m of ["receptance", "key", "value", "output"]) t[`${p}att.${m}.weight`] = w.matrix(C, C, lin);
    t[p + "ffn.x_k"] = mix();
    t[p + "ffn.key.weight"] = w.matrix(F, C, lin);
    t[p + "ffn.value.weight"] = w.matrix(C, F, 1 / Math.sqrt(F));
  }
  t["ln_out.weight"] = ones(C);
  t["ln_out.bias"] = zeros(C);
  t["head.weight"] = w.matrix(V, C, 1 / Math.sqrt(C));
  const config = { version: 7 as const, nLayer: L, nEmbd: C, nHead: H, headSize: N, vocabSize: V, dimFfn: F };
  const create = native().createModel as unknown as (...a: unknown[]) => NativeModel;
  const model = quant === "none" ? create(config, t, "cuda") : create(config, t, "cuda", { quant });
  return { model, config };
}

/** GEMM flops per token: the layers' projections + LoRAs, and the head separately. */
function gemmFlops(s: Shape): { layers: number; head: number } {
  const C = s.C,
    F = 4 * C;
  const perLayer = (l: number) =>
    2 * (4 * C * C + 2 * C * F + 2 * C * (s.Dw + s.Da + s.Dg) + (l > 0 ? 2 * C * s.Dv : 0));
  let layers = 0;
  for (let l = 0; l < s.L; l++) layers += perLayer(l);
  return { layers, head: 2 * V * C };
}

function randomTokens(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s % V;
  }
  return out;
}

async function timeIt(reps: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: allocations, first-launch costs
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9 / reps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "0.1B,1.5B,2.9B" },
      ctx: { type: "string", default: "1024" },
      reps: { type: "string", default: "3" },
      quant: { type: "string", default: "none,nf4" },
      "budget-s": { type: "string", default: "420" },
      // For a profiler run (bench/gpu.sh under ncu): no GEMM rates, no forward, one step.
      "step-only": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const addon = native(),
    info = addon.info();
  if (!info.cuda.available)
    throw new Error(
      `no usable CUDA device: ${info.cuda.reason ?? "unknown"} (compiled with CUDA: ${info.cuda.compiled})`,
    );
  const dev = info.cuda.devices[0],
    reps = Math.max(1, Number(values.reps)),
    budget = Number(values["budget-s"]) * 1e3;
  const ctxs = values.ctx!.split(",").map(Number),
    quants = values.quant!.split(","),
    started = Date.now();
  const peak = PEAK_TFLOPS.find(([re]) => re.test(dev.name))?.[1] ?? null;
  const tflops = (n: number, impl: "auto" | "own" | "cublas", quant: "none" | "nf4" = "none") =>
    (2 * n ** 3) / addon.cudaTimeGemm({ M: n, N: n, K: n, reps: 20, impl, quant }) / 1e12;
  // The card's bf16 rate as a library reaches it: cuBLAS alone on bf16 inputs, 8192³ (the backend's
  // GEMM where no cuBLAS is loaded).
  const stepOnly = values["step-only"]!;
  const gemm = stepOnly
    ? null
    : {
        path: info.cuda.gemm ?? "own",
        cublas: info.cuda.cublas ?? "",
        card8192: tflops(8192, info.cuda.gemm === "cublas" ? "cublas" : "auto"),
        auto8192: tflops(8192, "auto"),
        auto4096: tflops(4096, "auto"),
        own4096: tflops(4096, "own"),
        nf4Auto4096: tflops(4096, "auto", "nf4"),
        nf4Own4096: tflops(4096, "own", "nf4"),
      };
  const cardRate = gemm?.card8192 ?? NaN;
  if (gemm)
    console.log(
      `${dev.name} (cc ${dev.computeCapability}, ${(dev.totalMemory / 2 ** 30).toFixed(0)} GiB); GEMMs via ` +
        `${gemm.path} [${gemm.cublas}]; bf16 TFLOP/s: library 8192³ ${cardRate.toFixed(0)}` +
        (peak ? ` (${((100 * cardRate) / peak).toFixed(0)}% of the ${peak} datasheet peak)` : "") +
        `; as the model calls it (fp32 A rounded on the way) 8192³ ${gemm.auto8192.toFixed(0)}, ` +
        `4096³ ${gemm.auto4096.toFixed(0)}, nf4 4096³ ${gemm.nf4Auto4096.toFixed(0)}; our own kernel 4096³ ` +
        `${gemm.own4096.toFixed(0)}, nf4 ${gemm.nf4Own4096.toFixed(0)}`,
    );
  const rows: Record<string, unknown>[] = [];
  for (const name of values.sizes!.split(",")) {
    const s = SHAPES.find((x) => x.name === name);
    if (!s) throw new Error(`--sizes: unknown size ${name} (known: ${SHAPES.map((x) => x.name).join(", ")})`);
    for (const quant of quants) {
      if (Date.now() - started > budget) {
        rows.push({ size: name, quant, skipped: "time budget" });
        continue;
      }
      const t0 = Date.now();
      const { model, config } = buildModel(s, quant);
      const loadS = (Date.now() - t0) / 1e3;
      const fl = gemmFlops(s),
        HNN = (config.nEmbd / N) * N * N * config.nLayer;
      try {
        for (const T of ctxs) {
          if (Date.now() - started > budget) {
            rows.push({ size: name, quant, ctx: T, skipped: "time budget" });
            continue;
          }
          addon.cudaResetPeakMemory();
          const tok = randomTokens(T + 1, T);
          const state = {
            attX: new Float32Array(config.nLayer * config.nEmbd),
            wkv: new Float32Array(HNN),
            ffnX: new Float32Array(config.nLayer * config.nEmbd),
          };
          const logits = new Float32Array(V);
          const fwd = await timeIt(stepOnly ? 0 : reps, () => {
            state.wkv.fill(0);
            return model.forwardSeq(tok.subarray(0, T), state, logits, "last");
          });
          // Generation: one token per call, the logits of each back on the host.
          const rnnTokens = 64;
          const rnn = stepOnly
            ? NaN
            : await timeIt(1, async () => {
                for (let i = 0; i < rnnTokens; i++)
                  await model.forwardRnn(tok.subarray(i, i + 1), state, logits, "last");
              });
          const s0 = new Float32Array(HNN),
            grad = new Float32Array(HNN);
          let loss = NaN;
          const stepOnce = async () => {
            const r = await model.lossAndGrad(tok.subarray(0, T), tok.subarray(1, T + 1), 1, T, s0, grad, {
              l2wrap: true,
            });
            loss = r.lossSum / r.nTargets;
          };
          const step = await timeIt(stepOnly ? 0 : reps, stepOnce);
          addon.cudaGemmProfile(true);
          await stepOnce();
          const prof = addon.cudaGemmProfile(false);
          const mem = addon.cudaMemoryStats();
          const inStep = prof.flops / prof.seconds / 1e12;
          const peftGB = PEFT_GB[name]?.[quant];
          rows.push({
            size: name,
            ctx: T,
            quant,
            loadS: +loadS.toFixed(1),
            forwardTokPerS: Math.round(T / fwd),
            rnnTokPerS: Math.round(rnnTokens / rnn),
            stepMs: +(step * 1e3).toFixed(1),
            stepTokPerS: Math.round(T / step),
            loss: +loss.toFixed(4),
            // Buffers the backend held at once (weights + working memory), and the whole device's use
            // after the step (CUDA context, cuBLAS workspace and memory pools included).
            peakGB: +(mem.peakUsed / 1e9).toFixed(2),
            deviceUsedGB: +((mem.total - mem.free) / 1e9).toFixed(2),
            peftGB: peftGB ?? null,
            peakOfPeft: peftGB ? +(mem.peakUsed / 1e9 / peftGB).toFixed(2) : null,
            gemmCalls: prof.calls,
            gemmShareOfStep: +(prof.seconds / step).toFixed(2),
            gemmTflopsInStep: +inStep.toFixed(1),
            gemmShareOfCard: +(inStep / cardRate).toFixed(2),
            // Counted flops (layers 3×: forward, recompute, backward; head 2×) over the whole step time.
            stepTflops: +((T * (3 * fl.layers + 2 * fl.head)) / step / 1e12).toFixed(1),
            fwdTflops: +((T * fl.layers + fl.head) / fwd / 1e12).toFixed(1),
          });
          console.log(JSON.stringify(rows[rows.length - 1]));
        }
      } finally {
        model.dispose();
      }
    }
  }
  console.log(
    "\n| size | weights | ctx | fwd tok/s | RNN tok/s | step ms | step tok/s | peak GB (PEFT) | device GB | " +
      "GEMM TFLOP/s in step | of card | GEMM share of step |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    if (r.skipped) {
      console.log(`| ${r.size} | ${r.quant} | ${r.ctx ?? "-"} | skipped: ${r.skipped} | | | | | | | | |`);
      continue;
    }
    console.log(
      `| ${r.size} | ${r.quant} | ${r.ctx} | ${r.forwardTokPerS} | ${r.rnnTokPerS} | ` +
        `${r.stepMs} | ${r.stepTokPerS} | ` +
        `${r.peakGB} (${r.peftGB ?? "?"}: ${r.peakOfPeft ?? "?"}) | ${r.deviceUsedGB} | ${r.gemmTflopsInStep} | ` +
        `${r.gemmShareOfCard} | ${r.gemmShareOfStep} |`,
    );
  }
  const report = {
    device: dev,
    runtimeVersion: info.cuda.runtimeVersion,
    gemm,
    datasheetPeakTflops: peak,
    rows,
  };
  if (values.out) {
    fs.writeFileSync(values.out + ".tmp", JSON.stringify(report, null, 2));
    fs.renameSync(values.out + ".tmp", values.out);
  }
}

// A script of its own (bench/gpu.sh runs it); bench/run.ts only imports it.
if (require.main === module)
  main().catch((e) => {
    console.error(`bench/gpu: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  });

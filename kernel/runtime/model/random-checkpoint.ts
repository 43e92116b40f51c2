// A real RWKV .pth with released-style keys and shapes and random weights, for tests and
// benchmarks at sizes no golden file has. Values are scaled like the golden models so activations
// stay non-trivial: Linear ~ N(0, 1/in), LayerNorm weights ~ 1, decay biases over their range.
// Tensors are generated one at a time while the writer reaches them (a 0.1B file never sits in
// memory whole), each from its own seeded stream so the values do not depend on write order.
import { writePth } from "../checkpoint";
import type { DType } from "../tensor";
import { tensorLayout, type ModelDims } from "./config";

export interface RandomCheckpointOptions {
  version: 7 | 6;
  nLayer: number;
  nEmbd: number;
  vocab: number;
  headSize?: number;
  dimFfn?: number;
  /** LoRA widths (v7 w/a/v/g, v6 mix/decay); missing ones follow the released-model rules. */
  lora?: Record<string, number>;
  /** Default bf16, as released files. */
  dtype?: "bf16" | "f32";
  /** Default 0. */
  seed?: number;
}

/** LoRA widths as RWKV-PEFT derives them from C (docs/spec.md §1.2, §2.1). */
export function defaultLora(version: 7 | 6, C: number): Record<string, number> {
  if (version === 6) return C === 4096 ? { mix: 64, decay: 128 } : { mix: 32, decay: 64 };
  const d = (f: number, e: number) => Math.max(32, 32 * Math.round((f * C ** e) / 32));
  return { w: d(1.8, 0.5), a: d(1.8, 0.5), v: d(1.3, 0.5), g: C === 1024 ? 128 : d(0.6, 0.8) };
}

export function randomDims(o: RandomCheckpointOptions): ModelDims {
  const headSize = o.headSize ?? 64;
  if (o.nEmbd % headSize !== 0) throw new RangeError(`n_embd ${o.nEmbd} is not a multiple of head size ${headSize}`);
  const dimFfn = o.dimFfn ?? (o.version === 7 ? 4 * o.nEmbd : Math.floor((3.5 * o.nEmbd) / 32) * 32);
  return {
    version: o.version,
    nLayer: o.nLayer,
    nEmbd: o.nEmbd,
    headSize,
    vocabSize: o.vocab,
    dimFfn,
    lora: { ...defaultLora(o.version, o.nEmbd), ...o.lora },
  };
}

/** sfc32: small, fast, good enough for test weights; seeded per tensor. */
function rng(seed: number, stream: number): () => number {
  let a = seed >>> 0,
    b = (stream * 0x9e3779b9) >>> 0,
    c = 0x6a09e667,
    d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Fills `out` with the tensor's values: standard normals (both Box–Muller outputs) or uniforms, then scaled. */
type Fill = (out: Float32Array, u: () => number) => void;
const normal =
  (mean: number, std: number): Fill =>
  (out, u) => {
    for (let i = 0; i < out.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - u())),
        th = 2 * Math.PI * u();
      out[i] = mean + r * Math.cos(th);
      if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(th);
    }
  };
const uniform =
  (lo: number, hi: number): Fill =>
  (out, u) => {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * u();
  };

/** How the values of one tensor are drawn, from its name and shape. */
function fillFor(name: string, shape: number[], C: number): Fill {
  const leaf = name.replace(/^blocks\.\d+\./, "");
  if (leaf === "emb.weight") return normal(0, 1);
  if (leaf === "head.weight") return normal(0, 2 / Math.sqrt(C));
  if (/(^|\.)ln(0|1|2|_x|_out)\.weight$/.test(leaf)) return normal(1, 0.1);
  if (leaf.endsWith(".bias")) return normal(0, 0.1);
  if (/\.(x_[rwkvag]|time_maa_[xwkvrg])$/.test(leaf)) return uniform(0, 1);
  if (leaf === "att.w0") return uniform(-6, 0.9);
  if (leaf === "att.time_decay") return uniform(-6, 0.5);
  if (leaf === "att.a0" || leaf === "att.v0") return uniform(-1, 1);
  if (leaf === "att.k_k") return uniform(0.4, 1.4);
  if (leaf === "att.k_a") return uniform(0.5, 1.5);
  if (leaf === "att.r_k") return normal(0, 0.3);
  if (leaf === "att.time_faaaa") return normal(0, 0.45);
  if (leaf.endsWith(".weight")) return normal(0, 1 / Math.sqrt(shape[1])); // Linear [out, in]
  return normal(0, 1 / Math.sqrt(C)); // LoRA factors
}

const CHUNK = 1 << 20; // even, so Box–Muller pairs never straddle chunks

function randomBytes(name: string, shape: number[], C: number, dtype: DType, seed: number, stream: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1),
    fill = fillFor(name, shape, C),
    u = rng(seed, stream);
  if (dtype === "f32") {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i += CHUNK) fill(values.subarray(i, i + CHUNK), u);
    return new Uint8Array(values.buffer);
  }
  // bf16: draw a chunk in f32, round it to nearest even (values are finite)
  const scratch = new Float32Array(Math.min(n, CHUNK)),
    bits = new Uint32Array(scratch.buffer),
    out = new Uint16Array(n);
  for (let i = 0; i < n; i += CHUNK) {
    const len = Math.min(CHUNK, n - i);
    fill(scratch.subarray(0, len), u);
    for (let j = 0; j < len; j++) {
      const b = bits[j];
      out[i + j] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
  return new Uint8Array(out.buffer);
}

/** Writes the checkpoint (atomically) and returns its dimensions. */
export function writeRandomCheckpoint(file: string, opts: RandomCheckpointOptions): ModelDims {
  const dims = randomDims(opts);
  const dtype = opts.dtype ?? "bf16",
    seed = opts.seed ?? 0;
  writePth(
    file,
    tensorLayout(dims).map(
      ([name, shape], i) =>
        [
          name,
          {
            dtype,
            shape,
            data: () => randomBytes(name, shape, dims.nEmbd, dtype, seed, i + 1),
          },
        ] as [string, { dtype: DType; shape: number[]; data: () => Uint8Array }],
    ),
  );
  return dims;
}

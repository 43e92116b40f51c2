// Single CUDA ops against their CPU twins on the same random inputs (CUDA builds with a GPU only):
// WKV7 and WKV6 forward/backward (fp32 on both sides: only the summation order differs, so the
// tolerance is 1e-4 of the largest value), and the GEMM (A rounded to bf16 first, as the GPU does,
// so again only the order differs; nf4/int8 within their quantisation error).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native, type NativeAddon } from "../../kernel/runtime/native";
import { maxAbs, maxAbsDiff } from "../helpers/golden";

function cudaSkip(): string | false {
  let a: NativeAddon;
  try {
    a = native();
  } catch (e) {
    return `native addon not loadable: ${(e as Error).message}`;
  }
  const info = a.info();
  if (!info.cuda.available) return `no usable CUDA device: ${info.cuda.reason ?? "unknown reason"}`;
  return typeof a.cudaWkv7Forward === "function" ? false : "this addon has no CUDA op bindings";
}
const skip = cudaSkip();
const REL = 1e-4;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const uniform = (n: number, r: () => number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * r());

function close(name: string, got: Float32Array, want: Float32Array, rel = REL): void {
  const d = maxAbsDiff(got, want),
    tol = rel * Math.max(maxAbs(want), 1e-6);
  assert.ok(d <= tol, `${name}: max |diff| ${d} > ${tol}`);
}

const shape = { B: 2, T: 40, H: 2, N: 64 }; // T not a multiple of 16: a partial last chunk
const n = shape.B * shape.T * shape.H * shape.N,
  ns = shape.B * shape.H * shape.N * shape.N;

function wkv7Inputs(seed: number) {
  const r = rng(seed),
    N = shape.N;
  const z = uniform(n, r, -3, 3),
    what = z.map((x) => -Math.log1p(Math.exp(-x)) - 0.5);
  const kn = uniform(n, r, -1, 1),
    alpha = uniform(n, r, 0.05, 0.95);
  for (let o = 0; o < n; o += N) {
    // unit-norm removal key per head
    let ss = 0;
    for (let i = 0; i < N; i++) ss += kn[o + i] ** 2;
    for (let i = 0; i < N; i++) kn[o + i] /= Math.sqrt(ss);
  }
  return {
    r: uniform(n, r, -0.5, 0.5),
    w: what,
    k: uniform(n, r, -0.5, 0.5),
    v: uniform(n, r, -1, 1),
    a: kn.map((x) => -x),
    b: kn.map((x, i) => x * alpha[i]),
    s0: uniform(ns, r, -0.3, 0.3),
    dy: uniform(n, r, -1, 1),
  };
}

test("cuda op: wkv7 forward and backward equal the CPU op", { skip }, () => {
  const a = native(),
    x = wkv7Inputs(7);
  const run = (fwd: NativeAddon["wkv7Forward"]) => {
    const st = Float32Array.from(x.s0),
      y = new Float32Array(n);
    fwd(shape, x.r, x.w, x.k, x.v, x.a, x.b, st, y);
    return { st, y };
  };
  const c = run(a.wkv7Forward.bind(a)),
    g = run(a.cudaWkv7Forward!.bind(a));
  close("y", g.y, c.y);
  close("final state", g.st, c.st);
  const grads = () => Array.from({ length: 6 }, () => new Float32Array(n));
  const gc = grads(),
    gg = grads(),
    dsc = new Float32Array(ns),
    dsg = new Float32Array(ns);
  a.wkv7Backward(shape, x.r, x.w, x.k, x.v, x.a, x.b, x.s0, x.dy, null, gc[0], gc[1], gc[2], gc[3], gc[4], gc[5], dsc);
  a.cudaWkv7Backward!(shape, x.r, x.w, x.k, x.v, x.a, x.b, x.s0, x.dy, gg[0], gg[1], gg[2], gg[3], gg[4], gg[5], dsg);
  ["dr", "dw", "dk", "dv", "da", "db"].forEach((name, i) => close(name, gg[i], gc[i]));
  close("ds0", dsg, dsc);
});

test("cuda op: wkv6 forward and backward equal the CPU op", { skip }, () => {
  const a = native(),
    r = rng(6),
    C = shape.H * shape.N;
  const x = {
    r: uniform(n, r, -0.5, 0.5),
    k: uniform(n, r, -0.5, 0.5),
    v: uniform(n, r, -1, 1),
    w: uniform(n, r, 0.5, 0.999),
    u: uniform(C, r, -0.5, 0.5),
    s0: uniform(ns, r, -0.3, 0.3),
    dy: uniform(n, r, -1, 1),
    dsT: uniform(ns, r, -0.1, 0.1),
  };
  const stc = Float32Array.from(x.s0),
    yc = new Float32Array(n),
    stg = Float32Array.from(x.s0),
    yg = new Float32Array(n);
  const ck = a.wkv6Forward(shape, x.r, x.k, x.v, x.w, x.u, stc, yc);
  a.cudaWkv6Forward!(shape, x.r, x.k, x.v, x.w, x.u, stg, yg);
  close("y", yg, yc);
  close("final state", stg, stc);
  const gc = Array.from({ length: 4 }, () => new Float32Array(n)),
    gg = Array.from({ length: 4 }, () => new Float32Array(n));
  const dsc = Float32Array.from(x.dsT),
    dsg = Float32Array.from(x.dsT),
    duc = new Float32Array(C),
    dug = new Float32Array(C);
  a.wkv6Backward(shape, x.r, x.k, x.v, x.w, x.u, ck, x.dy, dsc, gc[0], gc[1], gc[2], gc[3], duc);
  a.cudaWkv6Backward!(shape, x.r, x.k, x.v, x.w, x.u, x.s0, x.dy, dsg, gg[0], gg[1], gg[2], gg[3], dug);
  ["dr", "dk", "dv", "dw"].forEach((name, i) => close(name, gg[i], gc[i]));
  close("ds0", dsg, dsc);
  close("du", dug, duc);
});

function bf16Bits(x: Float32Array): Uint16Array {
  // round to nearest even
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length),
    out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16;
  return out;
}
function fromBf16(b: Uint16Array): Float32Array {
  const u = Uint32Array.from(b, (h) => h << 16);
  return new Float32Array(u.buffer);
}

test(
  "cuda op: GEMM and GEMV (bf16, both layouts, ragged sizes) equals the CPU matmul; nf4/int8 within their error",
  { skip },
  () => {
    const a = native(),
      r = rng(3);
    for (const [m, nn, k, transB] of [
      [1, 200, 96, true],
      [3, 150, 70, false],
      [70, 130, 200, true],
      [33, 64, 100, false],
    ] as [number, number, number, boolean][]) {
      const A = fromBf16(bf16Bits(uniform(m * k, r, -1, 1))),
        B = bf16Bits(uniform(nn * k, r, -1, 1));
      const cc = new Float32Array(m * nn),
        cg = new Float32Array(m * nn);
      a.matmul({ m, n: nn, k, a: A, b: B, bType: "bf16", transB, c: cc, impl: "reference" });
      a.cudaMatmul!({ m, n: nn, k, a: A, b: B, transB, c: cg });
      close(`bf16 ${m}x${nn}x${k} transB=${transB}`, cg, cc);
      for (const [quant, bound] of [
        ["nf4", 0.15],
        ["int8", 0.02],
      ] as ["nf4" | "int8", number][]) {
        const cq = new Float32Array(m * nn);
        a.cudaMatmul!({ m, n: nn, k, a: A, b: B, transB, c: cq, quant });
        let dd = 0,
          ww = 0;
        for (let i = 0; i < cq.length; i++) {
          dd += (cq[i] - cc[i]) ** 2;
          ww += cc[i] ** 2;
        }
        const rel = Math.sqrt(dd / ww);
        assert.ok(rel > 0 && rel < bound, `${quant} ${m}x${nn}x${k}: relative L2 error ${rel} (want in (0, ${bound}))`);
      }
    }
  },
);

// RWKV-7 WKV operator (native/src/cpu/wkv7.cc): output, final state and every gradient against the
// golden float64 reference (`wkv_unit.l{0,1}`, gradA = no final-state gradient, gradB = with dsT),
// and against a float64 loop on random inputs with batches and lengths that are not a multiple of
// the 16-step chunk, for every variant (reference, sequential, chunked) on every SIMD path this CPU has.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import type { Wkv6Shape, WkvImpl } from "../../kernel/runtime/native";
import { GoldenSet, maxAbs } from "../helpers/golden";
import { addonWith } from "../helpers/native";
import { forEachWkvVariant, seededRandom } from "../helpers/wkv";

const { addon: A, skip: skipNative } = addonWith("wkv7Forward");

/** |got − want| ≤ atol everywhere; the message names the tensor and the worst element. */
function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let worst = -1,
    excess = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) - atol;
    if (!(e <= excess)) {
      excess = e;
      worst = i;
    }
  }
  assert.ok(worst < 0, `${name}: element ${worst} is ${got[worst]}, want ${want[worst]} (atol ${atol})`);
}

const NAMES = ["r", "w", "k", "v", "a", "b"] as const;
type Inputs = Record<(typeof NAMES)[number], Float32Array>;
interface Result {
  y: Float32Array;
  sT: Float32Array;
  grads: Record<string, Float32Array>;
}

/**
 * Forward and backward with `impl`. With `savedFrom`, the forward runs that variant and saves for the
 * backward, which then skips its own forward pass (training runs a sequential forward, a chunked backward).
 */
function runNative(
  sh: Wkv6Shape,
  x: Inputs,
  s0: Float32Array,
  dy: Float32Array,
  dsT: Float32Array | null,
  impl: WkvImpl,
  savedFrom?: WkvImpl,
): Result {
  const n = sh.B * sh.T * sh.H * sh.N;
  const y = new Float32Array(n),
    sT = Float32Array.from(s0);
  const saved = savedFrom ? new Float32Array(A!.wkv7SavedFloats(sh)).fill(Number.NaN) : undefined;
  A!.wkv7Forward(sh, x.r, x.w, x.k, x.v, x.a, x.b, sT, y, { impl: savedFrom ?? impl, saved });
  const g: Record<string, Float32Array> = {};
  for (const k of ["dr", "dw", "dk", "dv", "da", "db"]) g[k] = new Float32Array(n);
  g.ds0 = new Float32Array(s0.length);
  A!.wkv7Backward(sh, x.r, x.w, x.k, x.v, x.a, x.b, s0, dy, dsT, g.dr, g.dw, g.dk, g.dv, g.da, g.db, g.ds0, {
    impl,
    saved,
  });
  return { y, sT, grads: g };
}

/** Float64 reference: docs/spec.md §1.3 step 8 forward keeping every state, §3.4 backward. */
function reference(
  sh: Wkv6Shape,
  x: Inputs,
  s0: ArrayLike<number>,
  dy: ArrayLike<number>,
  dsT: ArrayLike<number> | null,
) {
  const { B, T, H, N } = sh,
    C = H * N,
    n = B * T * C;
  const y = new Float64Array(n),
    sT = new Float64Array(s0.length);
  const g: Record<string, Float64Array> = {};
  for (const k of ["dr", "dw", "dk", "dv", "da", "db"]) g[k] = new Float64Array(n);
  g.ds0 = new Float64Array(s0.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * N * N;
      const S: Float64Array[] = [Float64Array.from({ length: N * N }, (_, i) => s0[base + i])];
      const sa: Float64Array[] = [];
      const dec = (o: number, j: number) => Math.exp(-Math.exp(x.w[o + j]));
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C + h * N,
          P = S[t],
          Sn = new Float64Array(N * N),
          s = new Float64Array(N);
        for (let i = 0; i < N; i++) {
          for (let j = 0; j < N; j++) s[i] += P[i * N + j] * x.a[o + j];
          for (let j = 0; j < N; j++)
            Sn[i * N + j] = P[i * N + j] * dec(o, j) + s[i] * x.b[o + j] + x.v[o + i] * x.k[o + j];
          for (let j = 0; j < N; j++) y[o + i] += Sn[i * N + j] * x.r[o + j];
        }
        S.push(Sn);
        sa.push(s);
      }
      sT.set(S[T], base);
      const G = Float64Array.from({ length: N * N }, (_, i) => (dsT ? dsT[base + i] : 0));
      for (let t = T - 1; t >= 0; t--) {
        const o = (b * T + t) * C + h * N,
          St = S[t + 1],
          Sp = S[t],
          dsa = new Float64Array(N);
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) {
            g.dr[o + j] += St[i * N + j] * dy[o + i];
            G[i * N + j] += dy[o + i] * x.r[o + j];
          }
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) {
            const q = G[i * N + j];
            g.dv[o + i] += q * x.k[o + j];
            g.dk[o + j] += q * x.v[o + i];
            dsa[i] += q * x.b[o + j];
            g.db[o + j] += q * sa[t][i];
            g.dw[o + j] += q * Sp[i * N + j] * dec(o, j) * -Math.exp(x.w[o + j]);
          }
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) {
            g.da[o + j] += Sp[i * N + j] * dsa[i];
            G[i * N + j] = G[i * N + j] * dec(o, j) + dsa[i] * x.a[o + j];
          }
      }
      g.ds0.set(G, base);
    }
  return { y, sT, grads: g };
}

function compare(
  tag: string,
  got: Result,
  want: { y: ArrayLike<number>; sT: ArrayLike<number>; grads: Record<string, ArrayLike<number>> },
): void {
  // Tolerances of golden/README "Tolerances to use": 1e-4 · max |reference| per tensor.
  assertClose(`${tag} y`, got.y, want.y, 1e-4 * maxAbs(want.y));
  assertClose(`${tag} sT`, got.sT, want.sT, 1e-4 + 1e-4 * maxAbs(want.sT));
  for (const k of Object.keys(want.grads))
    assertClose(`${tag} ${k}`, got.grads[k], want.grads[k], 1e-4 * maxAbs(want.grads[k]));
}

const skipGolden = skipNative;

for (const layer of [0, 1]) {
  test(
    `wkv7 matches golden wkv_unit.l${layer} (y, sT, gradA, gradB), every variant and SIMD path`,
    { skip: skipGolden },
    () => {
      const G = new GoldenSet("v7");
      const p = `wkv_unit.l${layer}`;
      const x = Object.fromEntries(NAMES.map((k) => [k, G.f32(`${p}.${k}`)])) as Inputs;
      const s0 = G.f32(`${p}.s0`),
        dy = G.f32(`${p}.dy`),
        dsT = G.f32(`${p}.dsT`);
      const sh = { B: 1, T: x.r.length / (s0.length / 64), H: s0.length / (64 * 64), N: 64 };
      const gradsOf = (set: string) =>
        Object.fromEntries(["dr", "dw", "dk", "dv", "da", "db", "ds0"].map((k) => [k, G.f32(`${p}.${set}.${k}`)]));
      const y = G.f32(`${p}.y`),
        sT = G.f32(`${p}.sT`);
      forEachWkvVariant(A!, (tag, impl) => {
        compare(`${tag} ${p} gradA`, runNative(sh, x, s0, dy, null, impl), { y, sT, grads: gradsOf("gradA") });
        compare(`${tag} ${p} gradB`, runNative(sh, x, s0, dy, dsT, impl), { y, sT, grads: gradsOf("gradB") });
        compare(`${tag} ${p} gradB, saved by the forward`, runNative(sh, x, s0, dy, dsT, impl, "sequential"), {
          y,
          sT,
          grads: gradsOf("gradB"),
        });
      });
    },
  );
}

/** Random operands as the model makes them: a = −κ̂, b = κ̂·α with κ̂ unit-norm per head, ŵ < −0.5. */
function randomInputs(sh: Wkv6Shape, seed: number) {
  const rnd = seededRandom(seed);
  const n = sh.B * sh.T * sh.H * sh.N,
    ns = sh.B * sh.H * sh.N * sh.N;
  const fill = (len: number, lo: number, hi: number) => Float32Array.from({ length: len }, () => rnd(lo, hi));
  const x: Inputs = {
    r: fill(n, -1, 1),
    w: fill(n, -3, -0.5),
    k: fill(n, -1, 1),
    v: fill(n, -1, 1),
    a: new Float32Array(n),
    b: new Float32Array(n),
  };
  for (let row = 0; row < n / sh.N; row++) {
    const kap = fill(sh.N, -1, 1),
      norm = Math.hypot(...kap);
    for (let j = 0; j < sh.N; j++) {
      x.a[row * sh.N + j] = -kap[j] / norm;
      x.b[row * sh.N + j] = (kap[j] / norm) * rnd(0, 1);
    }
  }
  return { x, s0: fill(ns, -1, 1), dy: fill(n, -1, 1), dsT: fill(ns, -1, 1) };
}

// Head sizes the SIMD kernels take (64, 32, 16) and one that some paths hand to the reference (8);
// lengths below, at and across the 16-step chunk, and single steps (RNN mode's own kernel).
const SHAPES: Wkv6Shape[] = [
  { B: 2, T: 37, H: 3, N: 8 },
  { B: 2, T: 37, H: 2, N: 64 },
  { B: 1, T: 16, H: 1, N: 32 },
  { B: 3, T: 5, H: 1, N: 16 },
  { B: 2, T: 1, H: 3, N: 64 },
  { B: 1, T: 1, H: 2, N: 16 },
];
for (const sh of SHAPES) {
  test(
    `wkv7 matches a float64 loop for B=${sh.B}, T=${sh.T}, H=${sh.H}, N=${sh.N}, ` +
      "with and without dsT, every variant and SIMD path",
    { skip: skipNative },
    () => {
      const { x, s0, dy, dsT } = randomInputs(sh, 12345 + sh.N);
      for (const d of [null, dsT]) {
        const want = reference(sh, x, s0, dy, d);
        forEachWkvVariant(A!, (tag, impl) => {
          const g = d ? "gradB" : "gradA";
          compare(`${tag} ${g}`, runNative(sh, x, s0, dy, d, impl), want);
          for (const from of ["reference", "sequential", "chunked"] as const)
            compare(`${tag} ${g}, saved by a ${from} forward`, runNative(sh, x, s0, dy, d, impl, from), want);
        });
      }
    },
  );
}

test(
  "wkvChoice names what auto runs: sequential forwards, chunked RWKV-7 backwards on AVX2/AVX-512 " +
    "(on every path given the forward's saves), the reference for odd heads",
  {
    skip: skipNative || (process.env.RWKV_WKV ? "RWKV_WKV forces a variant" : false),
  },
  () => {
    const before = A!.info().simd;
    try {
      for (const path of A!.info().cpu.simdPaths) {
        A!.setSimd(path);
        const sh = { B: 1, T: 512, H: 12, N: 64 };
        assert.equal(A!.wkvChoice(7, false, sh), "sequential", path);
        assert.equal(A!.wkvChoice(7, true, sh), path === "portable" ? "sequential" : "chunked", path);
        assert.equal(A!.wkvChoice(7, true, { ...sh, T: 15 }), "sequential", `${path}: shorter than a chunk`);
        assert.equal(A!.wkvChoice(7, true, sh, true), "chunked", `${path}: given the forward's saves`);
        assert.equal(A!.wkvChoice(7, true, { ...sh, T: 15 }, true), "sequential", `${path}: saves, one short chunk`);
        assert.equal(A!.wkvChoice(6, false, sh), "sequential", path);
        assert.equal(A!.wkvChoice(6, true, sh), "sequential", path);
        assert.equal(A!.wkvChoice(6, true, { ...sh, N: 12 }), "reference", `${path}: no kernel for N = 12`);
      }
    } finally {
      A!.setSimd(before);
    }
  },
);

test("wkv7 bindings reject an unknown variant", { skip: skipNative }, () => {
  const sh = { B: 1, T: 1, H: 1, N: 8 },
    z = () => new Float32Array(8);
  assert.throws(
    () => A!.wkv7Forward(sh, z(), z(), z(), z(), z(), z(), new Float32Array(64), z(), { impl: "fast" as WkvImpl }),
    /impl must be/,
  );
});

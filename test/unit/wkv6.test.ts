// RWKV-6 WKV operator (native/src/cpu/wkv6.cc): forward, final state and every gradient against
// the golden float64 reference (`wkv_unit.l{0,1}`), and against a float64 loop on random inputs
// with batches and lengths that are not a multiple of the checkpoint chunk, for every variant
// (reference, sequential, chunked) on every SIMD path this CPU has.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import type { Wkv6Shape, WkvImpl } from "../../kernel/runtime/native";
import { assertClose } from "../helpers/golden-checks";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { addonWith } from "../helpers/native";
import { forEachWkvVariant, seededRandom } from "../helpers/wkv";

const { addon: A, skip: skipNative } = addonWith("wkv6Forward");

const decay = (wl: ArrayLike<number>): Float32Array => Float32Array.from(wl, (x) => Math.exp(-Math.exp(x)));
/** dŵ from the gradient w.r.t. the decay value: decay = exp(−exp(ŵ)). */
const chainDecay = (dd: Float32Array, wl: ArrayLike<number>): Float64Array =>
  Float64Array.from(dd, (g, i) => g * Math.exp(-Math.exp(wl[i])) * -Math.exp(wl[i]));

interface Grads {
  y: Float32Array;
  sT: Float32Array;
  dr: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  dd: Float32Array;
  du: Float32Array;
  ds0: Float32Array;
}

function runNative(
  sh: Wkv6Shape,
  r: Float32Array,
  k: Float32Array,
  v: Float32Array,
  w: Float32Array,
  u: Float32Array,
  s0: Float32Array,
  dy: Float32Array,
  dsT: Float32Array | null,
  impl: WkvImpl,
): Grads {
  const n = sh.B * sh.T * sh.H * sh.N;
  const y = new Float32Array(n),
    sT = Float32Array.from(s0);
  const ckpt = A!.wkv6Forward(sh, r, k, v, w, u, sT, y, { impl });
  const ds0 = dsT ? Float32Array.from(dsT) : new Float32Array(s0.length);
  const g = {
    dr: new Float32Array(n),
    dk: new Float32Array(n),
    dv: new Float32Array(n),
    dd: new Float32Array(n),
    du: new Float32Array(sh.H * sh.N),
  };
  A!.wkv6Backward(sh, r, k, v, w, u, ckpt, dy, ds0, g.dr, g.dk, g.dv, g.dd, g.du, { impl });
  return { y, sT, ds0, ...g };
}

/** Float64 reference: the docs/spec.md §3.4 loops, with all states kept. */
function reference(
  sh: Wkv6Shape,
  r: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  u: ArrayLike<number>,
  s0: ArrayLike<number>,
  dy: ArrayLike<number>,
  dsT: ArrayLike<number> | null,
) {
  const { B, T, H, N } = sh,
    C = H * N,
    n = B * T * C;
  const out = {
    y: new Float64Array(n),
    sT: new Float64Array(s0.length),
    dr: new Float64Array(n),
    dk: new Float64Array(n),
    dv: new Float64Array(n),
    dd: new Float64Array(n),
    du: new Float64Array(H * N),
    ds0: new Float64Array(s0.length),
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * N * N;
      const states: Float64Array[] = [Float64Array.from({ length: N * N }, (_, x) => s0[base + x])];
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C + h * N,
          S = states[t],
          Sn = new Float64Array(N * N);
        for (let i = 0; i < N; i++) {
          let acc = 0;
          for (let j = 0; j < N; j++) {
            acc += r[o + j] * (S[i * N + j] + u[h * N + j] * k[o + j] * v[o + i]);
            Sn[i * N + j] = S[i * N + j] * w[o + j] + v[o + i] * k[o + j];
          }
          out.y[o + i] = acc;
        }
        states.push(Sn);
      }
      out.sT.set(states[T], base);
      const G = Float64Array.from({ length: N * N }, (_, x) => (dsT ? dsT[base + x] : 0));
      for (let t = T - 1; t >= 0; t--) {
        const o = (b * T + t) * C + h * N,
          Sp = states[t];
        let q = 0,
          rho = 0;
        for (let i = 0; i < N; i++) q += dy[o + i] * v[o + i];
        for (let j = 0; j < N; j++) rho += r[o + j] * u[h * N + j] * k[o + j];
        for (let i = 0; i < N; i++) {
          let s = dy[o + i] * rho;
          for (let j = 0; j < N; j++) s += G[i * N + j] * k[o + j];
          out.dv[o + i] = s;
        }
        for (let j = 0; j < N; j++) {
          const uj = u[h * N + j];
          let dk = r[o + j] * uj * q,
            dd = 0,
            dr = uj * k[o + j] * q;
          for (let i = 0; i < N; i++) {
            dk += G[i * N + j] * v[o + i];
            dd += G[i * N + j] * Sp[i * N + j];
            dr += dy[o + i] * Sp[i * N + j];
          }
          out.dk[o + j] = dk;
          out.dd[o + j] = dd;
          out.dr[o + j] = dr;
          out.du[h * N + j] += r[o + j] * k[o + j] * q;
        }
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) G[i * N + j] = G[i * N + j] * w[o + j] + dy[o + i] * r[o + j];
      }
      out.ds0.set(G, base);
    }
  return out;
}

const goldenSkip = skipNative;

for (const layer of [0, 1]) {
  test(
    `wkv6 matches golden wkv_unit.l${layer} (forward, gradA, gradB), every variant and SIMD path`,
    { skip: goldenSkip },
    () => {
      const g = new GoldenSet("v6");
      const p = `wkv_unit.l${layer}.`;
      const [T, C] = g.entry(p + "r").shape;
      const [H, N] = g.entry(p + "u").shape;
      assert.equal(C, H * N);
      const sh: Wkv6Shape = { B: 1, T, H, N };
      const wl = g.f32(p + "w"),
        w = decay(wl);
      const args = [
        g.f32(p + "r"),
        g.f32(p + "k"),
        g.f32(p + "v"),
        w,
        g.f32(p + "u"),
        g.f32(p + "s0"),
        g.f32(p + "dy"),
      ] as const;
      const y = g.f32(p + "y"),
        sT = g.f32(p + "sT");
      forEachWkvVariant(A!, (variant, impl) => {
        for (const [tag, dsT] of [
          ["gradA", null],
          ["gradB", g.f32(p + "dsT")],
        ] as const) {
          const got = runNative(sh, ...args, dsT, impl);
          assertClose(`${variant} ${p}y`, got.y, y, 1e-4 * maxAbs(y));
          assertClose(`${variant} ${p}sT`, got.sT, sT, 1e-4, 1e-4);
          const grads: [string, ArrayLike<number>][] = [
            ["dr", got.dr],
            ["dk", got.dk],
            ["dv", got.dv],
            ["dw", chainDecay(got.dd, wl)],
            ["du", got.du],
            ["ds0", got.ds0],
          ];
          for (const [name, mine] of grads) {
            const want = g.f32(`${p}${tag}.${name}`);
            assertClose(`${variant} ${p}${tag}.${name}`, mine, want, 1e-4 * maxAbs(want));
          }
        }
      });
    },
  );
}

/**
 * Random inputs with decays exp(−exp(ŵ)), ŵ ∈ [−6, 1.5) (decays ≥ 0.011): every chunk stays in the chunk
 * form's range. extreme: from t = 20 on, head 0's first channels decay by 0 or 1e-30 per step, and head 1
 * has one decay of 0.005 at t = 3, so those chunks run step by step while the others keep the chunk form.
 */
function randomCase(sh: Wkv6Shape, extreme: boolean, seed: number) {
  const rnd = seededRandom(seed);
  const n = sh.B * sh.T * sh.H * sh.N,
    ns = sh.B * sh.H * sh.N * sh.N;
  const mk = (len: number, lo: number, hi: number) => Float32Array.from({ length: len }, () => rnd(lo, hi));
  const w = decay(mk(n, -6, 1.5));
  if (extreme)
    for (let b = 0; b < sh.B; b++)
      for (let t = 0; t < sh.T; t++) {
        const row = (b * sh.T + t) * sh.H * sh.N;
        if (t >= 20) for (let j = 0; j < 4; j++) w[row + j] = j % 2 ? 1e-30 : 0;
        if (t === 3) w[row + sh.N + 5] = 0.005;
      }
  return {
    r: mk(n, -1, 1),
    k: mk(n, -1, 1),
    v: mk(n, -1, 1),
    w,
    u: mk(sh.H * sh.N, -1, 1),
    s0: mk(ns, -2, 2),
    dy: mk(n, -1, 1),
    dsT: mk(ns, -1, 1),
  };
}

const CASES: [Wkv6Shape, boolean][] = [
  [{ B: 2, T: 37, H: 3, N: 16 }, false],
  [{ B: 2, T: 37, H: 2, N: 64 }, false],
  [{ B: 1, T: 40, H: 2, N: 32 }, true],
  [{ B: 3, T: 5, H: 1, N: 8 }, false],
];
for (const [sh, extreme] of CASES) {
  test(
    `wkv6 equals a float64 loop for B=${sh.B}, T=${sh.T}, H=${sh.H}, N=${sh.N}, ` +
      `${extreme ? "decays of 0 from t = 20, " : ""}every variant and SIMD path`,
    { skip: skipNative },
    () => {
      const { r, k, v, w, u, s0, dy, dsT } = randomCase(sh, extreme, 12345 + sh.N);
      const ns = s0.length;
      for (const d of [null, dsT]) {
        const ref = reference(sh, r, k, v, w, u, s0, dy, d);
        forEachWkvVariant(A!, (tag, impl) => {
          const got = runNative(sh, r, k, v, w, u, s0, dy, d, impl);
          for (const key of ["y", "sT", "dr", "dk", "dv", "dd", "du", "ds0"] as const) {
            assertClose(`${tag} ${key}`, got[key], ref[key], 1e-5 * Math.max(1, maxAbs(ref[key])));
          }
          // The two batch elements differ, so a batch mix-up would show: check they are not equal.
          const per = ns / sh.B;
          if (sh.B > 1) assert.ok(maxAbsDiff(got.ds0.subarray(0, per), got.ds0.subarray(per, 2 * per)) > 1e-3);
        });
      }
    },
  );
}

test("wkv6Forward fills opts.checkpoints in place and checks its size", { skip: skipNative }, () => {
  const sh: Wkv6Shape = { B: 1, T: 20, H: 2, N: 16 };
  const { r, k, v, w, u, s0 } = randomCase(sh, false, 7);
  const y = new Float32Array(r.length);
  const fresh = A!.wkv6Forward(sh, r, k, v, w, u, Float32Array.from(s0), y);
  const mine = new Float32Array(fresh.length);
  assert.equal(A!.wkv6Forward(sh, r, k, v, w, u, Float32Array.from(s0), y, { checkpoints: mine }), mine);
  assert.deepEqual(mine, fresh);
  assert.ok(fresh.some((x) => x !== 0));
  const short = new Float32Array(fresh.length - 1);
  assert.throws(
    () => A!.wkv6Forward(sh, r, k, v, w, u, Float32Array.from(s0), y, { checkpoints: short }),
    /checkpoints/,
  );
});

test("wkv6 rejects a head size that is not a multiple of 8", { skip: skipNative }, () => {
  const sh: Wkv6Shape = { B: 1, T: 2, H: 1, N: 12 };
  const z = (len: number) => new Float32Array(len);
  assert.throws(() => A!.wkv6Forward(sh, z(24), z(24), z(24), z(24), z(12), z(144), z(24)), /head size 12/);
});

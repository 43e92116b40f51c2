// The native soft-target loss (prompt compilation's KL objective) against float64 references on
// the golden RWKV-7 model (V = 256): the loss value from the model's own logits, and the gradient
// w.r.t. the initial state as the float64-weighted sum of hard-target gradients (the soft loss is
// linear in the teacher: −Σ q·log p, and −log p(rest) = Σ over the rest of (p_v/p(rest))·(−log p_v)
// in gradient), for dense targets and for top-k targets with a remainder class. One-hot soft
// targets equal hard targets, and teacherTargets builds what the head expects. The loss and the
// one-hot check run on every SIMD path of the head's row kernels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Model, State, IGNORE_TARGET } from "../../kernel";
import { teacherTargets } from "../../kernel/runtime/tune/soft-targets";
import type { NativeSoftTargets } from "../../kernel/runtime/native";
import { GoldenSet } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";
import { forEachSimdPath } from "../helpers/simd";

const skip = goldenModelSkip();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

async function load(): Promise<Model> {
  return Model.load(new GoldenSet("v7").file("model_fp32.pth"), { device: "cpu", tokenizer: "bytes" });
}

/** A small random initial state, so the gradient is not taken at zero. */
function startState(model: Model, seed: number): State {
  const r = rng(seed);
  const s = model.newState();
  for (let i = 0; i < s.wkv.length; i++) s.wkv[i] = (r() - 0.5) * 0.2;
  return s;
}

/** log-softmax rows of logits [T, V] in float64. */
function logSoftmax(logits: Float32Array, V: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let t = 0; t < logits.length / V; t++) {
    const z = logits.subarray(t * V, (t + 1) * V);
    let mx = -Infinity;
    for (const x of z) mx = Math.max(mx, x);
    let s = 0;
    for (const x of z) s += Math.exp(x - mx);
    const lse = mx + Math.log(s);
    out.push(Float64Array.from(z, (x) => x - lse));
  }
  return out;
}

/** Random teacher rows: dense (all V) or k ids with probabilities summing to `mass` (the rest: remainder). */
function randomTargets(rows: number, V: number, k: number | "dense", seed: number, mass = 0.8): NativeSoftTargets {
  const r = rng(seed);
  const K = k === "dense" ? V : k;
  const probs = new Float32Array(rows * K),
    ids = k === "dense" ? undefined : new Int32Array(rows * K);
  for (let m = 0; m < rows; m++) {
    const w = Array.from({ length: K }, () => r() ** 3);
    const sum = w.reduce((a, b) => a + b, 0);
    const total = k === "dense" ? 1 : mass;
    w.forEach((x, j) => (probs[m * K + j] = (x / sum) * total));
    if (ids) {
      const pool = Array.from({ length: V }, (_, v) => v).sort(() => r() - 0.5);
      ids.set(pool.slice(0, K), m * K);
    }
  }
  return { k: K, probs, ids };
}

/** Float64 soft CE of one row: −Σ q log p − r log p(rest). */
function rowCE(lp: Float64Array, soft: NativeSoftTargets, m: number): number {
  const { k, probs, ids } = soft;
  if (!ids) return -Array.from(lp).reduce((s, x, v) => s + probs[m * k + v] * x, 0);
  let ce = 0,
    listedQ = 0,
    listedP = 0;
  for (let j = 0; j < k; j++) {
    const v = ids[m * k + j];
    ce -= probs[m * k + j] * lp[v];
    listedQ += probs[m * k + j];
    listedP += Math.exp(lp[v]);
  }
  const rest = 1 - listedQ;
  if (rest > 0) ce -= rest * Math.log(1 - listedP);
  return ce;
}

test(
  "soft-target loss equals the float64 cross entropy of the model's logits (dense, top-k + rest; every SIMD path)",
  { skip },
  async () => {
    const model = await load();
    try {
      const V = model.config.vocabSize,
        B = 2,
        T = 6;
      const r = rng(3);
      const inputs = Int32Array.from({ length: B * T }, () => 1 + Math.floor(r() * 200));
      const mask = new Int32Array(B * T);
      mask[4] = IGNORE_TARGET; // a row that does not count
      const s0 = startState(model, 11);
      await forEachSimdPath(async () => {
        const lp = [0, 1].map(async (b) =>
          logSoftmax(
            (await model.forward(inputs.subarray(b * T, (b + 1) * T), { state: s0, logits: "all" })).logits!,
            V,
          ),
        );
        const rows = (await Promise.all(lp)).flat();
        for (const kind of ["dense", 5, 40] as const) {
          const soft = randomTargets(B * T, V, kind, 5);
          const got = await model.gradToState(
            { inputs, targets: mask, batch: B, T, nTargets: B * T - 1 },
            { state: s0, soft },
          );
          let ref = 0;
          rows.forEach((row, m) => {
            if (mask[m] !== IGNORE_TARGET) ref += rowCE(row, soft, m);
          });
          ref /= B * T - 1;
          assert.ok(
            Math.abs(got.loss - ref) < 2e-5 * Math.max(1, ref),
            `${kind}: native ${got.loss} vs float64 ${ref}`,
          );
          assert.equal(got.nTargets, B * T - 1);
        }
      });
    } finally {
      model.dispose();
    }
  },
);

test("soft-target gradient equals the float64-weighted sum of hard-target gradients", { skip }, async () => {
  const model = await load();
  try {
    const V = model.config.vocabSize,
      T = 3;
    const inputs = Int32Array.of(72, 105, 33);
    const s0 = startState(model, 17);
    const lp = logSoftmax((await model.forward(inputs, { state: s0, logits: "all" })).logits!, V);
    const dense = randomTargets(T, V, "dense", 21),
      sparse = randomTargets(T, V, 4, 22, 0.7);
    const refDense = new Float64Array(s0.wkv.length),
      refSparse = new Float64Array(s0.wkv.length);
    for (let t = 0; t < T; t++) {
      const listed = new Map<number, number>();
      for (let j = 0; j < 4; j++) listed.set(sparse.ids![t * 4 + j], sparse.probs[t * 4 + j]);
      const rest = 1 - [...listed.values()].reduce((a, b) => a + b, 0);
      const pRest = 1 - [...listed.keys()].reduce((s, v) => s + Math.exp(lp[t][v]), 0);
      for (let v = 0; v < V; v++) {
        const targets = new Int32Array(T).fill(IGNORE_TARGET);
        targets[t] = v;
        const { grad } = await model.gradToState({ inputs, targets, batch: 1, T, nTargets: 1 }, { state: s0 });
        const wd = dense.probs[t * V + v] / T;
        const ws = (listed.get(v) ?? (rest * Math.exp(lp[t][v])) / pRest) / T;
        for (let i = 0; i < grad.length; i++) {
          refDense[i] += wd * grad[i];
          refSparse[i] += ws * grad[i];
        }
      }
    }
    const all = new Int32Array(T);
    for (const [name, soft, ref] of [
      ["dense", dense, refDense],
      ["top-4 + rest", sparse, refSparse],
    ] as const) {
      const { grad } = await model.gradToState({ inputs, targets: all, batch: 1, T, nTargets: T }, { state: s0, soft });
      const scale = Math.max(...Array.from(ref, Math.abs));
      let worst = 0;
      for (let i = 0; i < grad.length; i++) worst = Math.max(worst, Math.abs(grad[i] - ref[i]));
      assert.ok(scale > 0, "the reference gradient is zero");
      assert.ok(worst < 1e-4 * scale, `${name}: max |Δ| ${worst} vs max |grad| ${scale}`);
    }
  } finally {
    model.dispose();
  }
});

test(
  "one-hot soft targets are hard targets; teacherTargets builds dense and top-k rows with their entropy",
  { skip },
  async () => {
    const model = await load();
    try {
      const V = model.config.vocabSize,
        T = 8;
      const inputs = Int32Array.from({ length: T }, (_, i) => 97 + i);
      const targets = Int32Array.from({ length: T }, (_, i) => 98 + i);
      const s0 = startState(model, 5);
      const oneHot = { k: 1, probs: new Float32Array(T).fill(1), ids: targets.slice() };
      await forEachSimdPath(async () => {
        const hard = await model.gradToState({ inputs, targets, batch: 1, T, nTargets: T }, { state: s0 });
        const soft = await model.gradToState(
          { inputs, targets, batch: 1, T, nTargets: T },
          { state: s0, soft: oneHot },
        );
        assert.ok(Math.abs(soft.loss - hard.loss) < 1e-6 * hard.loss, `${soft.loss} vs ${hard.loss}`);
        const scale = Math.max(...Array.from(hard.grad, Math.abs));
        hard.grad.forEach((g, i) => assert.ok(Math.abs(soft.grad[i] - g) < 1e-5 * scale, `element ${i}`));
      });

      const logits = (await model.forward(inputs, { state: s0, logits: "all" })).logits!;
      const lp = logSoftmax(logits, V);
      const d = teacherTargets(logits, V, V);
      assert.equal(d.ids, undefined);
      d.entropy.forEach((h, t) =>
        assert.ok(Math.abs(h + lp[t].reduce((s, x) => s + Math.exp(x) * x, 0)) < 1e-9, `entropy of row ${t}`),
      );
      // Dense teacher = the model itself: KL = CE − H = 0.
      const self = await model.gradToState(
        { inputs, targets: new Int32Array(T), batch: 1, T, nTargets: T },
        { state: s0, soft: d },
      );
      const h = d.entropy.reduce((a, b) => a + b, 0) / T;
      assert.ok(Math.abs(self.loss - h) < 1e-5, `KL of the model against itself: ${self.loss - h}`);
      const top = teacherTargets(logits, V, 3);
      for (let t = 0; t < T; t++) {
        const want = Array.from(lp[t].keys())
          .sort((a, b) => lp[t][b] - lp[t][a])
          .slice(0, 3)
          .sort((a, b) => a - b);
        assert.deepEqual(
          Array.from(top.ids!.subarray(t * 3, t * 3 + 3)).sort((a, b) => a - b),
          want,
        );
      }

      const batch = { inputs, targets, batch: 1, T, nTargets: T };
      await assert.rejects(
        model.gradToState(batch, { state: s0, soft: { k: 3, probs: new Float32Array(3 * T) } }),
        /dense soft targets \(no ids\) need k = vocab = 256, got 3/,
      );
      await assert.rejects(
        model.gradToState(batch, {
          state: s0,
          soft: { k: 1, probs: new Float32Array(T), ids: new Int32Array(T).fill(256) },
        }),
        /args\.soft\.ids\[0\] = 256 is outside \[0, 256\)/,
      );
    } finally {
      model.dispose();
    }
  },
);

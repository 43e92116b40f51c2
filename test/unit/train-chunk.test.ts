// The native training calls beyond plain state tuning, on small random models (writeRandomCheckpoint):
// chunked BPTT (trainChunk over pieces of a sample, carrying the state forward and its gradient back)
// against the unchunked gradient at ctx 1024, training a subset of layers against the full backward,
// the structure of the backward (which layers ran, which were recomputed), and the compute option.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";
import type { ModelDims } from "../../kernel/runtime/model/dims";
import type { NativeBatchState, NativeModel, NativeTensor } from "../../kernel/runtime/native";
import { native } from "../../kernel/runtime/native";
import { checkpointTensors } from "../helpers/golden-model";
import { relErr } from "../helpers/golden";

const L = 4,
  C = 128,
  N = 64,
  V = 256,
  T = 1024,
  B = 2;
const S = (C / N) * N * N; // one layer's wkv floats

let skip: string | false = false;
try {
  native();
} catch {
  skip = "the native addon is not built";
}

interface Built {
  config: Omit<ModelDims, "lora">;
  tensors: Record<string, NativeTensor>;
}
const built = new Map<number, Built>();
function build(version: 7 | 6): Built {
  let b = built.get(version);
  if (!b) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-train-chunk-"));
    try {
      const file = path.join(dir, "model.pth");
      const { lora: _lora, ...config } = writeRandomCheckpoint(file, {
        version,
        nLayer: L,
        nEmbd: C,
        vocabSize: V,
        dtype: "f32",
        seed: 3,
      });
      b = { config, tensors: checkpointTensors(file) };
      built.set(version, b);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return b;
}
function model(version: 7 | 6, compute?: "f32" | "bf16"): NativeModel {
  const b = build(version);
  return native().createModel(b.config, b.tensors, "cpu", compute ? { compute } : undefined);
}

/** Deterministic values in [−a, a). */
function noise(n: number, a: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296 - 0.5) * 2 * a;
  }
  return out;
}
function sample(seed: number): { inputs: Int32Array; targets: Int32Array } {
  const r = noise(2 * B * T, 1, seed);
  const inputs = Int32Array.from({ length: B * T }, (_, i) => Math.floor((r[i] + 1) * 0.5 * V) % V);
  // Every fifth target ignored, as a loss mask would.
  const targets = Int32Array.from({ length: B * T }, (_, i) =>
    i % 5 === 3 ? -100 : Math.floor((r[B * T + i] + 1) * 0.5 * V) % V,
  );
  return { inputs, targets };
}
const s0 = noise(L * S, 0.5, 11);

function batchState(): NativeBatchState {
  return { attX: new Float32Array(B * L * C), wkv: new Float32Array(B * L * S), ffnX: new Float32Array(B * L * C) };
}
/** Rows [t0, t0+n) of each of the B sequences of a [B,T] array. */
function slice<A extends Int32Array>(a: A, t0: number, n: number): Int32Array {
  const out = new Int32Array(B * n);
  for (let b = 0; b < B; b++) out.set(a.subarray(b * T + t0, b * T + t0 + n), b * n);
  return out;
}
function layerRows(g: Float32Array, l: number): Float32Array {
  return g.subarray(l * S, (l + 1) * S);
}

/**
 * Chunked BPTT as the tuner will run it: a forward pass over the chunks keeping the boundary states, then
 * the chunks from last to first, each recomputed with the gradient arriving at its final state.
 */
async function chunkedGrad(
  m: NativeModel,
  inputs: Int32Array,
  targets: Int32Array,
  lengths: number[],
  layers?: number[],
): Promise<{ lossSum: number; grad: Float32Array; layersBackward: number[] }> {
  let valid = 0;
  for (const t of targets) valid += t !== -100 ? 1 : 0;
  const scales = { ceGradScale: 1 / valid, l2wrapScale: 1e-4 / (B * T), layers };
  const starts = lengths.map((_, k) => lengths.slice(0, k).reduce((a, b) => a + b, 0));
  const boundary: NativeBatchState[] = [];
  let lossSum = 0;
  for (let k = 0; k < lengths.length; k++) {
    const finalState = batchState();
    const from = k === 0 ? { s0 } : { init: boundary[k - 1] };
    const r = await m.trainChunk({
      inputs: slice(inputs, starts[k], lengths[k]),
      targets: slice(targets, starts[k], lengths[k]),
      batch: B,
      T: lengths[k],
      ...from,
      finalState,
      ...scales,
    });
    assert.equal(r.layersBackward, 0, "a forward-only chunk runs no backward");
    lossSum += r.lossSum;
    boundary.push(finalState);
  }
  const grad = new Float32Array(L * S);
  const layersBackward: number[] = [];
  let dFinal: NativeBatchState | undefined;
  for (let k = lengths.length - 1; k >= 0; k--) {
    const dInit = batchState();
    const from = k === 0 ? { s0, gradS0: grad } : { init: boundary[k - 1], dInit };
    const r = await m.trainChunk({
      inputs: slice(inputs, starts[k], lengths[k]),
      targets: slice(targets, starts[k], lengths[k]),
      batch: B,
      T: lengths[k],
      ...from,
      dFinal,
      ...scales,
    });
    layersBackward.push(r.layersBackward);
    dFinal = dInit;
  }
  return { lossSum, grad, layersBackward };
}

for (const version of [7, 6] as const) {
  test(
    `v${version} chunked BPTT: 3 chunks of a ctx-${T} batch give the unchunked loss and gradient`,
    { skip },
    async () => {
      const m = model(version),
        { inputs, targets } = sample(version);
      try {
        const want = new Float32Array(L * S);
        const ref = await m.lossAndGrad(inputs, targets, B, T, s0, want, { l2wrap: true });
        const got = await chunkedGrad(m, inputs, targets, [300, 400, 324]);
        assert.ok(Math.abs(got.lossSum - ref.lossSum) <= 1e-5 * ref.lossSum, `loss ${got.lossSum} vs ${ref.lossSum}`);
        for (let l = 0; l < L; l++) {
          const e = relErr(layerRows(got.grad, l), layerRows(want, l));
          assert.ok(e <= 1e-4, `layer ${l}: chunked gradient differs by ${e} (relative to its largest element)`);
        }
        // The carried state matters: the last layer's gradient through the later chunks is not small.
        const firstOnly = new Float32Array(L * S);
        await m.lossAndGrad(slice(inputs, 0, 300), slice(targets, 0, 300), B, 300, s0, firstOnly, { l2wrap: true });
        assert.ok(relErr(firstOnly, want) > 1e-2, "the later chunks contribute to the gradient of s0");
      } finally {
        m.dispose();
      }
    },
  );

  test(
    `v${version} training layers {1, 3} of ${L}: their gradients equal the full backward's, the rest are 0`,
    { skip },
    async () => {
      const m = model(version),
        { inputs, targets } = sample(10 + version);
      try {
        const full = new Float32Array(L * S),
          part = new Float32Array(L * S).fill(7);
        const all = await m.lossAndGrad(inputs, targets, B, T, s0, full, { l2wrap: true });
        const sub = await m.lossAndGrad(inputs, targets, B, T, s0, part, { l2wrap: true, layers: [3, 1] });
        assert.equal(sub.lossSum, all.lossSum);
        assert.equal(all.layersBackward, L);
        assert.equal(sub.layersBackward, L - 1, "the backward stops at layer 1");
        for (const l of [1, 3]) assert.deepEqual(layerRows(part, l), layerRows(full, l), `layer ${l}`);
        for (const l of [0, 2])
          assert.ok(
            layerRows(part, l).every((x) => x === 0),
            `layer ${l} is zero`,
          );
      } finally {
        m.dispose();
      }
    },
  );
}

test("v7 chunked BPTT with the top two layers trained equals the unchunked subset gradient", { skip }, async () => {
  const m = model(7),
    { inputs, targets } = sample(21);
  try {
    const want = new Float32Array(L * S);
    await m.lossAndGrad(inputs, targets, B, T, s0, want, { l2wrap: true, layers: [2, 3] });
    const got = await chunkedGrad(m, inputs, targets, [512, 512], [2, 3]);
    assert.deepEqual(got.layersBackward, [2, 2], "each chunk's backward covers layers 3 and 2 only");
    for (const l of [2, 3]) assert.ok(relErr(layerRows(got.grad, l), layerRows(want, l)) <= 1e-4, `layer ${l}`);
    assert.ok(got.grad.subarray(0, 2 * S).every((x) => x === 0));
  } finally {
    m.dispose();
  }
});

test("the activation budget: recomputing every layer gives the same gradient bit for bit", { skip }, async () => {
  for (const version of [7, 6] as const) {
    const m = model(version),
      { inputs, targets } = sample(30 + version);
    try {
      const kept = new Float32Array(L * S),
        recomputed = new Float32Array(L * S);
      const a = await m.lossAndGrad(inputs, targets, B, T, s0, kept, { l2wrap: true });
      const b = await m.lossAndGrad(inputs, targets, B, T, s0, recomputed, { l2wrap: true, activationCacheMB: 0 });
      assert.equal(a.layersRecomputed, 0, "a small model keeps every layer within the default budget");
      assert.equal(b.layersRecomputed, L);
      assert.equal(b.lossSum, a.lossSum);
      assert.deepEqual(recomputed, kept, `v${version}`);
      const c = await m.lossAndGrad(inputs, targets, B, T, s0, recomputed, {
        l2wrap: true,
        layers: [2],
        activationCacheMB: 0,
      });
      assert.equal(c.layersBackward, 2, "layers 3 and 2 run backward, 1 and 0 do not");
      assert.equal(c.layersRecomputed, 2, "only layers that run backward are recomputed");
      assert.deepEqual(layerRows(recomputed, 2), layerRows(kept, 2));
    } finally {
      m.dispose();
    }
  }
});

test("a forward-only chunk's final state equals forwardSeq's", { skip }, async () => {
  for (const version of [7, 6] as const) {
    const m = model(version),
      { inputs, targets } = sample(40 + version);
    try {
      const n = 100,
        one = inputs.subarray(0, n);
      const st = { attX: new Float32Array(L * C), wkv: Float32Array.from(s0), ffnX: new Float32Array(L * C) };
      await m.forwardSeq(one, st, null, "none");
      const finalState = batchState();
      const r = await m.trainChunk({
        inputs: one,
        targets: targets.subarray(0, n),
        batch: 1,
        T: n,
        s0,
        finalState,
        ceGradScale: 0,
        l2wrapScale: 0,
      });
      assert.ok(r.nTargets > 0 && r.lossSum > 0);
      assert.deepEqual(finalState.attX.subarray(0, L * C), st.attX);
      assert.deepEqual(finalState.ffnX.subarray(0, L * C), st.ffnX);
      assert.ok(relErr(finalState.wkv.subarray(0, L * S), st.wkv) < 1e-6, `v${version} wkv`);
    } finally {
      m.dispose();
    }
  }
});

test("trainChunk and the new options reject bad arguments by name", { skip }, async () => {
  const m = model(7),
    { inputs, targets } = sample(50);
  try {
    const base = { inputs, targets, batch: B, T, ceGradScale: 1, l2wrapScale: 0 };
    assert.throws(() => m.trainChunk({ ...base }), /either args\.s0 or args\.init/);
    assert.throws(() => m.trainChunk({ ...base, s0, init: batchState() }), /either args\.s0 or args\.init/);
    assert.throws(
      () => m.trainChunk({ ...base, init: { ...batchState(), wkv: new Float32Array(3) } }),
      /args\.init\.wkv has 3 elements/,
    );
    assert.throws(() => m.trainChunk({ ...base, s0, layers: [4] }), /args\.layers\[\] must be an integer in \[0, 3\]/);
    assert.throws(() => m.trainChunk({ ...base, s0, layers: [] }), /at least one layer/);
    const grad = new Float32Array(L * S);
    assert.throws(
      () => m.lossAndGrad(inputs, targets, B, T, s0, grad, { l2wrap: true, activationCacheMB: -1 }),
      RangeError,
    );
    const b = build(7);
    assert.throws(() => native().createModel(b.config, b.tensors, "cpu", { compute: "f16" as "f32" }), /opts\.compute/);
  } finally {
    m.dispose();
  }
});

test('compute "bf16" is accepted and stays within bf16 rounding of fp32 compute', { skip }, async () => {
  const f32 = model(7),
    bf16 = model(7, "bf16"),
    { inputs, targets } = sample(60);
  try {
    const g1 = new Float32Array(L * S),
      g2 = new Float32Array(L * S);
    const a = await f32.lossAndGrad(inputs, targets, B, T, s0, g1, { l2wrap: true });
    const b = await bf16.lossAndGrad(inputs, targets, B, T, s0, g2, { l2wrap: true });
    assert.ok(Math.abs(b.lossSum - a.lossSum) <= 1e-2 * a.lossSum, `loss ${b.lossSum} vs ${a.lossSum}`);
  } finally {
    f32.dispose();
    bf16.dispose();
  }
});

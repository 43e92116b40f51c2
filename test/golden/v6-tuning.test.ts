// RWKV-6 state tuning through the addon against the golden float64 reference: mean CE and its gradient
// w.r.t. every layer's initial wkv state (plain and with L2Wrap) for both checkpoints, batch
// summation over different sequences, ignored targets, cancellation, and the 3-step PEFT
// trajectories (global-norm clip done here as torch's clip_grad_norm_, Adam by the addon's adamStep).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native, type NativeModel } from "../../kernel/runtime/native";
import { assertClose, checkLossAndGrads, checkTrajectory, goldenSample } from "../helpers/golden-checks";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { forEachSimdPath } from "../helpers/simd";
import { goldenConfig, goldenModel, goldenModelSkip, goldenTensors } from "../helpers/golden-model";

const skip = goldenModelSkip();
const G = skip ? undefined : new GoldenSet("v6");

async function lossGrad(
  model: NativeModel,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  s0: Float32Array,
  l2wrap: boolean,
) {
  const grad = new Float32Array(s0.length);
  const r = await model.lossAndGrad(inputs, targets, B, T, s0, grad, { l2wrap });
  return { loss: r.lossSum / r.nTargets, lossSum: r.lossSum, nTargets: r.nTargets, grad };
}

for (const file of ["model_fp32.pth", "model_bf16.pth"]) {
  test(`v6 ${file}: loss_ce, grad_ce and grad_l2wrap match golden`, { skip }, async () => {
    const g = G!,
      model = goldenModel(g, file),
      s0 = g.f32("time_state_init"),
      { inputs, targets, T } = goldenSample(g);
    try {
      await forEachSimdPath(async () => {
        const ce = await lossGrad(model, inputs, targets, 1, T, s0, false);
        assert.equal(ce.nTargets, T);
        checkLossAndGrads(g, ce, await lossGrad(model, inputs, targets, 1, T, s0, true));
      });
    } finally {
      model.dispose();
    }
  });
}

test(
  "v6: a batch of two different sequences sums their gradients; ignored targets are not counted",
  { skip },
  async () => {
    const g = G!,
      model = goldenModel(g, "model_fp32.pth"),
      s0 = g.f32("time_state_init"),
      { inputs, targets, T } = goldenSample(g);
    try {
      // Second sequence: the sample reversed, with its second half ignored.
      const in2 = inputs.slice().reverse(),
        tg2 = targets
          .slice()
          .reverse()
          .fill(-100, T / 2);
      const a = await lossGrad(model, inputs, targets, 1, T, s0, false);
      const b = await lossGrad(model, in2, tg2, 1, T, s0, false);
      assert.equal(b.nTargets, T / 2);
      const both = await lossGrad(
        model,
        Int32Array.from([...inputs, ...in2]),
        Int32Array.from([...targets, ...tg2]),
        2,
        T,
        s0,
        false,
      );
      assert.equal(both.nTargets, a.nTargets + b.nTargets);
      assert.ok(Math.abs(both.lossSum - (a.lossSum + b.lossSum)) < 1e-4, "summed CE");
      // d(mean over both)/ds0 = (n_a·g_a + n_b·g_b) / (n_a + n_b)
      const n = both.nTargets,
        want = a.grad.map((x, i) => (x * a.nTargets + b.grad[i] * b.nTargets) / n);
      assertClose("B=2 gradient", both.grad, want, 1e-5 * maxAbs(want));
      assert.ok(maxAbsDiff(b.grad, a.grad) > 0.1 * maxAbs(a.grad), "the two sequences have different gradients");
    } finally {
      model.dispose();
    }
  },
);

test(
  "v6: recomputing layers (RWKV_ACT_CACHE_MB 0, 2) gives bit-identical results to keeping them",
  { skip },
  async () => {
    const g = G!,
      model = goldenModel(g, "model_fp32.pth"),
      s0 = g.f32("time_state_init"),
      { inputs, targets, T } = goldenSample(g);
    const saved = process.env.RWKV_ACT_CACHE_MB;
    try {
      const kept = await lossGrad(model, inputs, targets, 1, T, s0, true);
      for (const mb of ["0", "2"]) {
        // a golden layer's activations take ~1.1 MB: none kept, one kept
        process.env.RWKV_ACT_CACHE_MB = mb;
        const r = await lossGrad(model, inputs, targets, 1, T, s0, true);
        assert.equal(r.lossSum, kept.lossSum, `cache ${mb} MB: loss`);
        assert.equal(maxAbsDiff(r.grad, kept.grad), 0, `cache ${mb} MB: gradient`);
      }
    } finally {
      if (saved === undefined) delete process.env.RWKV_ACT_CACHE_MB;
      else process.env.RWKV_ACT_CACHE_MB = saved;
      model.dispose();
    }
  },
);

test("v6: lossAndGrad stops with an AbortError when the cancel flag is set", { skip }, async () => {
  const g = G!,
    model = goldenModel(g, "model_fp32.pth"),
    s0 = g.f32("time_state_init"),
    { inputs, targets, T } = goldenSample(g);
  try {
    await assert.rejects(
      model.lossAndGrad(inputs, targets, 1, T, s0, new Float32Array(s0.length), { l2wrap: true }, Int32Array.of(1)),
      (e: Error) => e.name === "AbortError",
    );
  } finally {
    model.dispose();
  }
});

test("v6: decays underflowing to 0 (time_decay 100) keep the gradient finite on each SIMD path", { skip }, async () => {
  const g = G!,
    tensors = goldenTensors(g, "model_fp32.pth"),
    key = "blocks.1.att.time_decay";
  assert.equal(tensors[key].dtype, "f32");
  const huge = {
    ...tensors,
    [key]: { ...tensors[key], data: new Float32Array(tensors[key].shape.reduce((a, b) => a * b, 1)).fill(100) },
  };
  const model = native().createModel(goldenConfig(g), huge),
    s0 = g.f32("time_state_init"),
    { inputs, targets, T } = goldenSample(g);
  try {
    await forEachSimdPath(async (path) => {
      const r = await lossGrad(model, inputs, targets, 1, T, s0, true);
      assert.ok(Number.isFinite(r.loss), `${path}: loss ${r.loss}`);
      assert.ok(r.grad.every(Number.isFinite), `${path}: every gradient element is finite`);
      assert.ok(maxAbs(r.grad) > 0, `${path}: the gradient is not all zero`);
    });
  } finally {
    model.dispose();
  }
});

for (const [name, clip] of [
  ["traj", 1.0],
  ["traj_clip", 0.005],
] as const) {
  test(`v6 ${name}: 3 PEFT steps (CE + L2Wrap, clip ${clip}, Adam lr 1) follow golden`, { skip }, async () => {
    const g = G!,
      model = goldenModel(g, "model_bf16.pth"),
      { inputs, targets, T } = goldenSample(g);
    try {
      await checkTrajectory(g, name, clip, (s0) => lossGrad(model, inputs, targets, 1, T, s0, true));
    } finally {
      model.dispose();
    }
  });
}

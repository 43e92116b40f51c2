// RWKV-7 state tuning through the addon against the golden float64 reference: mean CE and its gradient
// w.r.t. every layer's initial wkv state (plain and with L2Wrap), batch/ignore handling, one Adam step
// (adamStep), and the 3-step PEFT trajectories with global-norm clipping (checkTrajectory in
// test/helpers/golden-checks.ts).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native, type NativeModel } from "../../kernel/runtime/native";
import { assertClose, checkLossAndGrads, checkTrajectory, goldenSample } from "../helpers/golden-checks";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { forEachSimdPath } from "../helpers/simd";
import { goldenModel, goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();
const G = skip ? undefined : new GoldenSet("v7");

async function lossGrad(model: NativeModel, g: GoldenSet, s0: Float32Array, l2wrap: boolean, batch = 1) {
  const { inputs, targets, T } = goldenSample(g);
  const rep = (a: Int32Array) => {
    const o = new Int32Array(a.length * batch);
    for (let b = 0; b < batch; b++) o.set(a, b * a.length);
    return o;
  };
  const grad = new Float32Array(s0.length);
  const r = await model.lossAndGrad(rep(inputs), rep(targets), batch, T, s0, grad, { l2wrap });
  return { loss: r.lossSum / r.nTargets, nTargets: r.nTargets, grad };
}

test("v7 state tuning: loss_ce, grad_ce and grad_l2wrap match golden (bf16 weights)", { skip }, async () => {
  const g = G!,
    model = goldenModel(g, "model_bf16.pth"),
    s0 = g.f32("time_state_init");
  try {
    await forEachSimdPath(async () => {
      const ce = await lossGrad(model, g, s0, false);
      assert.equal(ce.nTargets, g.meta.ctx_len);
      checkLossAndGrads(g, ce, await lossGrad(model, g, s0, true));
    });
  } finally {
    model.dispose();
  }
});

test(
  "v7 state tuning: a batch of two copies gives the same mean loss and gradient; ignored targets are not counted",
  { skip },
  async () => {
    const g = G!,
      model = goldenModel(g, "model_fp32.pth"),
      s0 = g.f32("time_state_init");
    try {
      const one = await lossGrad(model, g, s0, true),
        two = await lossGrad(model, g, s0, true, 2);
      assert.equal(two.nTargets, 2 * one.nTargets);
      assert.ok(Math.abs(two.loss - one.loss) < 1e-6);
      assertClose("B=2 gradient", two.grad, one.grad, 1e-6 * maxAbs(one.grad) + 1e-9);
      const { inputs, targets, T } = goldenSample(g);
      targets.fill(-100, T / 2);
      const grad = new Float32Array(s0.length);
      const r = await model.lossAndGrad(inputs, targets, 1, T, s0, grad, { l2wrap: false });
      assert.equal(r.nTargets, T / 2);
      assert.ok(maxAbsDiff(grad, one.grad) > 1e-4 * maxAbs(one.grad), "masking half the targets changes the gradient");
    } finally {
      model.dispose();
    }
  },
);

test("v7 adamStep: one step from grad_ce equals adam1.time_state", { skip }, () => {
  const g = G!,
    p = g.f32("time_state_init"),
    m = new Float32Array(p.length),
    v = new Float32Array(p.length);
  native().adamStep(p, m, v, g.f32("grad_ce"), { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 1 });
  assertClose("adam1.time_state", p, g.get("adam1.time_state.f64"), 1e-6);
});

for (const [name, clip] of [
  ["traj", 1.0],
  ["traj_clip", 0.005],
] as const) {
  test(`v7 ${name}: 3 PEFT steps (CE + L2Wrap, clip ${clip}, Adam lr 1) follow golden`, { skip }, async () => {
    const g = G!,
      model = goldenModel(g, "model_fp32.pth");
    try {
      await checkTrajectory(g, name, clip, (s0) => lossGrad(model, g, s0, true));
    } finally {
      model.dispose();
    }
  });
}

test("v7 lossAndGrad and forwardSeq stop with an AbortError when the cancel flag is set", { skip }, async () => {
  const g = G!,
    model = goldenModel(g, "model_fp32.pth"),
    s0 = g.f32("time_state_init");
  const { inputs, targets, T } = goldenSample(g),
    cancel = Int32Array.of(1);
  try {
    await assert.rejects(
      model.lossAndGrad(inputs, targets, 1, T, s0, new Float32Array(s0.length), { l2wrap: true }, cancel),
      (e: Error & { code?: string }) => e.name === "AbortError" && e.code === "ABORT_ERR",
    );
    const st = { attX: new Float32Array(256), wkv: new Float32Array(s0.length), ffnX: new Float32Array(256) };
    await assert.rejects(model.forwardSeq(inputs, st, null, "none", cancel), { name: "AbortError" });
    cancel[0] = 0;
    const r = await model.lossAndGrad(inputs, targets, 1, T, s0, new Float32Array(s0.length), { l2wrap: true }, cancel);
    assert.equal(r.nTargets, T, "runs normally once the flag is cleared");
  } finally {
    model.dispose();
  }
});

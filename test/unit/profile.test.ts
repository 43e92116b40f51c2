// The CPU backend's stage profiler (native setProfiling/stageTimes, what the bench's per-stage
// busy times come from): off it records nothing; on, a model's work lands in its stages, and
// repeated training calls (which reuse their cached temporaries) give the same result.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Model } from "../../kernel";
import { native } from "../../kernel/runtime/native";
import { GoldenSet } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();

test("stage times: nothing while off; gemm, wkv, norm, head and other while on; sums match", { skip }, async () => {
  const g = new GoldenSet("v7");
  const model = await Model.load(g.file("model_fp32.pth"), { device: "cpu", tokenizer: "bytes" });
  const addon = native();
  try {
    const tokens = g.get("tokens") as Int32Array;
    addon.stageTimes(true);
    const first = await model.gradToState(tokens);
    const off = addon.stageTimes(true);
    for (const [k, v] of Object.entries(off)) assert.equal(v.wallS + v.cpuS, 0, `${k} counted while off`);
    addon.setProfiling(true);
    const t0 = performance.now();
    let again;
    try {
      again = await model.gradToState(tokens);
      addon.adamStep(new Float32Array(4), new Float32Array(4), new Float32Array(4), new Float32Array(4).fill(1), {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        step: 1,
      });
    } finally {
      addon.setProfiling(false);
    }
    const wall = (performance.now() - t0) / 1000;
    const on = addon.stageTimes(true);
    for (const k of ["gemm", "wkv", "norm", "head", "other", "adam"] as const)
      assert.ok(on[k].wallS > 0, `${k}: no time recorded`);
    const sum = Object.values(on).reduce((a, v) => a + v.wallS, 0);
    assert.ok(sum <= wall * 1.01 + 1e-3, `stages ${sum} s within the calls' ${wall} s`);
    assert.equal(again.loss, first.loss, "the cached temporaries change nothing");
    assert.deepEqual(again.grad, first.grad);
  } finally {
    model.dispose();
  }
});

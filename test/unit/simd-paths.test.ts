// Every SIMD path of the CPU model (avx512, avx2: the per-ISA GEMMs, norms, token shift, RWKV-7's
// operand and bonus passes, LoRA activations, WKV) against the portable path, which is the plain
// C++ reference, on the same inputs: logits of a forward and the loss and state gradient of a
// training call agree to float rounding. (The golden tests check each path against float64 too.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { native, type SimdPath } from "../../kernel/runtime/native";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { goldenConfig, goldenModel, goldenModelSkip } from "../helpers/golden-model";
import { simdPaths } from "../helpers/simd";

const skip = goldenModelSkip() || (simdPaths().length < 2 ? "this CPU runs only the portable path" : false);

for (const v of ["v7", "v6"] as const) {
  test(`${v}: each SIMD path gives the portable path's logits, loss and state gradient`, { skip }, async () => {
    const g = new GoldenSet(v);
    const model = goldenModel(g, "model_bf16.pth");
    const addon = native(),
      before = addon.info().simd;
    const tokens = g.get("tokens") as Int32Array,
      T = tokens.length - 1,
      cfg = goldenConfig(g),
      V = cfg.vocabSize;
    const inputs = tokens.slice(0, T),
      targets = tokens.slice(1);
    const s0 = g.f32("time_state_init");
    const run = async (path: SimdPath) => {
      addon.setSimd(path);
      const shift = () => new Float32Array(cfg.nLayer * cfg.nEmbd);
      const st = { attX: shift(), wkv: s0.slice(), ffnX: shift() };
      const logits = new Float32Array(T * V);
      await model.forwardSeq(inputs, st, logits, "all");
      const grad = new Float32Array(s0.length);
      const r = await model.lossAndGrad(inputs, targets, 1, T, s0, grad, { l2wrap: true });
      return { logits, loss: r.lossSum / r.nTargets, grad };
    };
    try {
      const ref = await run("portable");
      for (const path of simdPaths().filter((p) => p !== "portable")) {
        const got = await run(path);
        const dl = maxAbsDiff(got.logits, ref.logits) / maxAbs(ref.logits);
        const dg = maxAbsDiff(got.grad, ref.grad) / maxAbs(ref.grad);
        assert.ok(dl < 1e-5, `${path}: logits differ by ${dl} of their largest`);
        assert.ok(Math.abs(got.loss - ref.loss) < 1e-5 * ref.loss, `${path}: loss ${got.loss} vs ${ref.loss}`);
        assert.ok(dg < 1e-4, `${path}: state gradient differs by ${dg} of its largest`);
      }
    } finally {
      addon.setSimd(before);
      model.dispose();
    }
  });
}

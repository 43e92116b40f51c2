// LR schedules (docs/spec.md §3.5): PEFT HEAD cos_decay, and PEFT-2024's exponential decay with warmup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cosLr, expLr, learningRate } from "../../kernel/runtime/tune/schedule";

test("cos: lrInit at step 0, midpoint halfway, lrFinal from totalSteps on, no warmup", () => {
  assert.equal(cosLr(0, 1, 0.01, 100), 1);
  assert.ok(Math.abs(cosLr(50, 1, 0.01, 100) - 0.505) < 1e-12);
  assert.equal(cosLr(100, 1, 0.01, 100), 0.01);
  assert.equal(cosLr(1000, 1, 0.01, 100), 0.01);
  assert.equal(
    learningRate(0, { kind: "cos", lrInit: 1, lrFinal: 0.01, totalSteps: 100, warmupSteps: 10 }),
    1,
    "warmup ignored in cos mode",
  );
  for (let s = 1; s < 100; s++) assert.ok(cosLr(s, 1, 0.01, 100) < cosLr(s - 1, 1, 0.01, 100), "strictly decreasing");
});

test("exp: geometric decay after warmup, warmup factor 0.2 + 0.8·step/warmup", () => {
  // progress = (step − warmup + 1)/(total − warmup)
  assert.ok(Math.abs(expLr(10, 1, 0.01, 110, 10) - Math.pow(0.01, 1 / 100)) < 1e-12);
  assert.ok(Math.abs(expLr(59, 1, 0.01, 110, 10) - 0.1) < 1e-12);
  assert.equal(expLr(500, 1, 0.01, 110, 10), 0.01);
  assert.ok(
    Math.abs(expLr(0, 1, 0.01, 110, 10) - 0.2) < 1e-12,
    "first warmup step: 0.2·lrInit (progress clamped at 0)",
  );
  assert.ok(Math.abs(expLr(5, 1, 0.01, 110, 10) - 0.6) < 1e-12);
  assert.ok(Math.abs(expLr(50, 1, 0, 100, 0) - 0.49) < 1e-12, "linear when lrFinal is 0");
});

test("unknown schedule is rejected by name", () => {
  assert.throws(
    () => learningRate(0, { kind: "wsd" as never, lrInit: 1, lrFinal: 0, totalSteps: 1, warmupSteps: 0 }),
    /unknown lr schedule 'wsd'/,
  );
});

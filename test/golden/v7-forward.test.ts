// RWKV-7 CPU forward through the addon (createModel) against the golden float64 reference: logits and
// final states in sequence and RNN mode, from zero and from time_state_init, for the fp32 and the bf16
// checkpoint (same values), RNN == seq, a prompt split over two calls, and argument/weight errors.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native } from "../../kernel/runtime/native";
import {
  checkSplitPrompt,
  goldenForwardTests,
  goldenSample,
  goldenState,
  runRnn,
  withGoldenModel,
} from "../helpers/golden-checks";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { goldenConfig, goldenModel, goldenModelSkip, goldenTensors } from "../helpers/golden-model";

const skip = goldenModelSkip();
const G = skip ? undefined : new GoldenSet("v7");

goldenForwardTests("v7", skip);

test("v7: a prompt split over two forwardSeq calls equals one call; 'last' gives the last row", { skip }, async () => {
  const g = G!;
  await withGoldenModel(g, async (model, V, x) => {
    await checkSplitPrompt(g, model, V, x);
  });
});

test(
  "v7: forwardRnn over many tokens equals a call per token; 'last' and 'none' leave the same state",
  { skip },
  async () => {
    const g = G!;
    await withGoldenModel(g, async (model, V, x) => {
      const one = goldenState(g, "s0"),
        all = new Float32Array(x.length * V);
      await model.forwardRnn(x, one, all, "all");
      const each = goldenState(g, "s0"),
        row = new Float32Array(V);
      for (let t = 0; t < x.length; t++) {
        await model.forwardRnn(x.subarray(t, t + 1), each, row, "last");
        assert.deepEqual(row, all.subarray(t * V, (t + 1) * V), `logits of token ${t}`);
      }
      assert.deepEqual(each, one, "state after the token-by-token run");
      const last = goldenState(g, "s0"),
        lastRow = new Float32Array(V).fill(NaN);
      await model.forwardRnn(x, last, lastRow, "last");
      assert.deepEqual(lastRow, all.subarray((x.length - 1) * V), "'last' logits");
      const none = goldenState(g, "s0");
      await model.forwardRnn(x, none, null, "none");
      assert.deepEqual(none, one, "state after 'none'");
      // A raised cancel flag stops the call between tokens, before the state changes.
      const cancelled = goldenState(g, "s0");
      await assert.rejects(model.forwardRnn(x, cancelled, null, "none", Int32Array.of(1)), /abort/);
      assert.deepEqual(cancelled, goldenState(g, "s0"), "state of a cancelled call");
    });
  },
);

// A parallel region that runs serially (one thread) must still let the regions nested in it run:
// RWKV-7's RNN step (a region over heads, a WKV region inside each) once waited on itself forever.
test(
  "v7: one thread gives the pool's results bit for bit, in RNN and sequence mode",
  { skip, timeout: 60_000 },
  async () => {
    const g = G!,
      A = native();
    await withGoldenModel(g, async (model, V, x) => {
      const run = async () => {
        const rnn = goldenState(g, "s0"),
          seq = goldenState(g, "s0"),
          rl = new Float32Array(x.length * V),
          sl = new Float32Array(x.length * V);
        await model.forwardRnn(x, rnn, rl, "all");
        await model.forwardSeq(x, seq, sl, "all");
        return { rnn, seq, rl, sl };
      };
      const before = A.info().threads;
      try {
        const pool = await run();
        A.setThreads(1);
        assert.deepEqual(await run(), pool);
      } finally {
        A.setThreads(before);
      }
    });
  },
);

test("v7: bad arguments and bad weights give clear errors", { skip }, async () => {
  const g = G!,
    cfg = goldenConfig(g),
    tensors = goldenTensors(g, "model_fp32.pth");
  const A = native(),
    model = A.createModel(cfg, tensors),
    st = goldenState(g, "zero");
  try {
    assert.throws(
      () => model.forwardSeq(Int32Array.of(1, 256), st, null, "none"),
      (e: Error) => e instanceof RangeError && /tokens\[1\] = 256/.test(e.message),
    );
    assert.throws(
      () => model.forwardRnn(Int32Array.of(3, -1), st, null, "none"),
      (e: Error) => e instanceof RangeError && /tokens\[1\] = -1/.test(e.message),
    );
    assert.throws(
      () => model.forwardSeq(Int32Array.of(1), st, new Float32Array(10), "last"),
      /logits has 10 elements, needs 256/,
    );
    assert.throws(
      () => model.forwardSeq(Int32Array.of(1), { ...st, wkv: new Float32Array(5) }, null, "none"),
      /state\.wkv/,
    );
    const t = Int32Array.of(1, 2);
    assert.throws(
      () =>
        model.lossAndGrad(t, Int32Array.of(2, 999), 1, 2, g.f32("time_state_init"), new Float32Array(st.wkv.length), {
          l2wrap: true,
        }),
      (e: Error) => e instanceof RangeError && /targets\[1\] = 999/.test(e.message),
    );
  } finally {
    model.dispose();
  }
  assert.throws(() => model.forwardRnn(Int32Array.of(1), st, null, "none"), /disposed/);
  const { ["blocks.1.att.key.weight"]: _gone, ...missing } = tensors;
  assert.throws(() => A.createModel(cfg, missing), /missing tensor blocks\.1\.att\.key\.weight/);
  const bad = { ...tensors, "blocks.0.att.w2": { ...tensors["blocks.0.att.w2"], shape: [16, 256] } };
  assert.throws(() => A.createModel(cfg, bad), /blocks\.0\.att\.w2 has shape \[16, 256\], expected \[32, 128\]/);
  if (!A.info().cuda.compiled) assert.throws(() => A.createModel(cfg, tensors, "cuda"), /no CUDA backend/);
});

test("v7: an 1100-token prompt (three internal sequence chunks of 512) matches RNN mode", { skip }, async () => {
  const g = G!,
    model = goldenModel(g, "model_bf16.pth"),
    V = goldenConfig(g).vocabSize,
    base = goldenSample(g).inputs;
  const x = Int32Array.from({ length: 1100 }, (_, i) => base[(i * 7) % base.length]);
  try {
    const seq = goldenState(g, "s0"),
      all = new Float32Array(x.length * V);
    await model.forwardSeq(x, seq, all, "all");
    const rnn = goldenState(g, "s0"),
      rl = await runRnn(model, x, rnn, V);
    assert.ok(maxAbsDiff(rl, all) < 1e-4, `logits differ by ${maxAbsDiff(rl, all)}`);
    assert.ok(maxAbsDiff(rnn.wkv, seq.wkv) < 1e-4 * Math.max(1, maxAbs(seq.wkv)), "final wkv");
  } finally {
    model.dispose();
  }
});

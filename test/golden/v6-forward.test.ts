// RWKV-6 CPU forward through the addon (createModel) against the golden float64 reference: logits and
// final states in sequence and RNN mode from zero and from time_state_init, for the fp32 and the bf16
// checkpoint, RNN == seq (also past the 256-token block of sequence mode), a prompt split over two
// calls, the PEFT state file mounted as the initial state, and weight/argument errors.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native } from "../../kernel/runtime/native";
import {
  assertClose,
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
const G = skip ? undefined : new GoldenSet("v6");

goldenForwardTests("v6", skip);

test(
  "v6: split prompts, 'last' logits, and a 300-token prompt (more than one sequence block) equal RNN mode",
  { skip },
  async () => {
    const g = G!;
    await withGoldenModel(g, async (model, V, x) => {
      await checkSplitPrompt(g, model, V, x);

      const long = Int32Array.from({ length: 600 }, (_, i) => x[(i * 7) % x.length]); // two internal chunks of 512
      const seq = goldenState(g, "s0"),
        sl = new Float32Array(long.length * V);
      await model.forwardSeq(long, seq, sl, "all");
      const rnn = goldenState(g, "s0"),
        rl = await runRnn(model, long, rnn, V);
      assert.ok(maxAbsDiff(rl, sl) < 5e-5, `600 tokens: rnn vs seq logits differ by ${maxAbsDiff(rl, sl)}`);
      assert.ok(maxAbsDiff(rnn.wkv, seq.wkv) < 5e-5 * Math.max(1, maxAbs(seq.wkv)), "600 tokens: wkv");
    });
  },
);

test("v6: the PEFT state file mounted as the initial wkv state reproduces tuned.seq", { skip }, async () => {
  const g = G!,
    cfg = goldenConfig(g),
    model = goldenModel(g, "model_bf16.pth"),
    x = goldenSample(g).inputs;
  const state = goldenTensors(g, "state_peft_bf16.pth"),
    per = cfg.nHead * cfg.headSize * cfg.headSize;
  const wkv = new Float32Array(cfg.nLayer * per);
  for (let l = 0; l < cfg.nLayer; l++) {
    const t = state[`blocks.${l}.att.time_state`];
    assert.deepEqual(t.shape, [cfg.nHead, cfg.headSize, cfg.headSize]);
    assert.equal(t.dtype, "bf16");
    const half = new Uint16Array(t.data.buffer, t.data.byteOffset, per);
    const bits = new Uint32Array(wkv.buffer, l * per * 4, per);
    for (let i = 0; i < per; i++) bits[i] = half[i] << 16; // bf16 → f32 is exact
  }
  try {
    const st = { ...goldenState(g, "zero"), wkv: Float32Array.from(wkv) },
      logits = new Float32Array(x.length * cfg.vocabSize);
    await model.forwardSeq(x, st, logits, "all");
    assertClose("tuned logits", logits, g.get("tuned.seq.logits"), 1e-4);
    assertClose("tuned wkv", st.wkv, g.get("tuned.seq.wkv"), 1e-4, 1e-4);
  } finally {
    model.dispose();
  }
});

test("v6: bad weights and bad arguments give errors naming the key or position", { skip }, async () => {
  const g = G!,
    cfg = goldenConfig(g),
    tensors = goldenTensors(g, "model_fp32.pth"),
    A = native();
  const { ["blocks.1.att.gate.weight"]: _gone, ...missing } = tensors;
  assert.throws(() => A.createModel(cfg, missing), /missing tensor blocks\.1\.att\.gate\.weight/);
  const bad = {
    ...tensors,
    "blocks.0.att.time_maa_w2": { ...tensors["blocks.0.att.time_maa_w2"], shape: [5, 128, 32] },
  };
  assert.throws(
    () => A.createModel(cfg, bad),
    /blocks\.0\.att\.time_maa_w2 has shape \[5, 128, 32\], expected \[5, 32, 128\]/,
  );
  assert.throws(
    () => A.createModel({ ...cfg, dimFfn: 512 }, tensors),
    /blocks\.0\.ffn\.key\.weight has shape \[448, 128\], expected \[512, 128\]/,
  );
  const flat = { ...tensors, "blocks.1.att.time_maa_x": { ...tensors["blocks.1.att.time_maa_x"], shape: [128] } };
  A.createModel(cfg, flat).dispose(); // [C] is accepted for a [1,1,C] vector
  const short = { ...tensors, "blocks.1.att.time_decay": { ...tensors["blocks.1.att.time_decay"], shape: [1, 2, 64] } };
  assert.throws(
    () => A.createModel(cfg, short),
    /blocks\.1\.att\.time_decay has shape \[1, 2, 64\], expected \[1, 1, 128\]/,
  );
  const model = A.createModel(cfg, tensors),
    st = goldenState(g, "zero");
  try {
    await assert.rejects(async () => model.forwardSeq(Int32Array.of(1, 256), st, null, "none"), /256/);
    const flag = Int32Array.of(1);
    await assert.rejects(
      async () => model.forwardSeq(goldenSample(g).inputs, st, null, "none", flag),
      (e: Error) => e.name === "AbortError",
    );
  } finally {
    model.dispose();
  }
});

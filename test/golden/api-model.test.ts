// Model through the public API on the golden RWKV-7 model: config, seq/RNN agreement, logits
// modes, input state untouched, cancellation, device and tokenizer errors, display.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Model, State, toBundle, runtimeInfo } from "../../kernel";
import { GoldenSet, maxAbsDiff } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();

test(
  "config comes from the file; seq and RNN agree; last == last row of all; state not modified",
  { skip },
  async () => {
    const g = new GoldenSet("v7");
    const model = await Model.load(g.file("model_bf16.pth"), { device: "cpu" });
    try {
      const c = model.config;
      assert.deepEqual(
        [c.version, c.nLayer, c.nEmbd, c.nHead, c.headSize, c.vocabSize, c.dimFfn, c.dtype, model.device],
        [7, 2, 128, 2, 64, 256, 512, "bf16", "cpu"],
      );
      const x = (g.get("tokens") as Int32Array).subarray(0, 64);
      const s0 = new State(c, { wkv: g.f32("time_state_init") });
      const copy = s0.wkv.slice();
      const seq = await model.forward(x, { state: s0, logits: "all" });
      const rnn = await model.forward(x, { state: s0, logits: "all", mode: "rnn" });
      const last = await model.forward(x, { state: s0 });
      assert.deepEqual(s0.wkv, copy, "the caller's state is not modified");
      assert.ok(maxAbsDiff(seq.logits!, g.get("fwd_s0.seq.logits")) < 1e-4);
      assert.ok(maxAbsDiff(seq.logits!, rnn.logits!) < 2e-5);
      assert.ok(maxAbsDiff(seq.state.wkv, rnn.state.wkv) < 1e-4);
      // GEMV vs GEMM rounding
      assert.ok(maxAbsDiff(last.logits!, seq.logits!.subarray(63 * 256)) < 2e-5, "last logits");
      const none = await model.forward(x, { logits: "none" });
      assert.equal(none.logits, undefined);
      await assert.rejects(model.forward(x, { signal: AbortSignal.abort() }), /aborted/);
      await assert.rejects(model.forward([300]), /token 300 at position 0 is outside the vocabulary 0..255/);
      await assert.rejects(
        model.forward(x, { state: new State({ nLayer: 1, nEmbd: 128, nHead: 2, headSize: 64 }) }),
        /state dims L1 .* do not match the model's L2/,
      );
      const html = String(toBundle(model)["text/html"]);
      for (const s of ["RWKV-7", "517,248", "bf16", "cpu"]) assert.ok(html.includes(s), `display shows ${s}`);
    } finally {
      model.dispose();
    }
    assert.throws(() => model.newState() && (model as unknown as { native: unknown }).native, /was disposed/);
  },
);

test(
  "generation: greedy is deterministic, a stop string ends the text before it, mounted state changes the output",
  { skip },
  async () => {
    const g = new GoldenSet("v7");
    const model = await Model.load(g.file("model_bf16.pth"), { device: "cpu", tokenizer: "bytes" });
    try {
      const gen = async (o: Parameters<Model["generate"]>[1]) => {
        let s = "";
        for await (const p of model.generate("The state", o)) s += p;
        return s;
      };
      const full = await gen({ maxTokens: 24, temperature: 0 });
      assert.equal(await gen({ maxTokens: 24, temperature: 0 }), full);
      assert.ok(full.length >= 8, `greedy output ${JSON.stringify(full)}`);
      const stop = full.slice(5, 7);
      assert.equal(await gen({ maxTokens: 24, temperature: 0, stop: [stop] }), full.slice(0, full.indexOf(stop)));
      const st = await State.fromStateFile(model, g.file("state_peft_bf16.pth"));
      assert.notEqual(await gen({ maxTokens: 24, temperature: 0, state: st }), full);
    } finally {
      model.dispose();
    }
  },
);

test("device and tokenizer errors are clear", { skip }, async () => {
  const g = new GoldenSet("v7");
  if (!runtimeInfo().cuda.available)
    await assert.rejects(Model.load(g.file("model_bf16.pth"), { device: "cuda" }), /CUDA is not available/);
  await assert.rejects(Model.load(g.file("nope.pth")), /does not exist/);
  const saved = process.env.RWKV_VOCAB;
  delete process.env.RWKV_VOCAB;
  const world = await Model.load(g.file("model_bf16.pth"), { device: "cpu", tokenizer: "world" });
  const plain = await Model.load(g.file("model_bf16.pth"), { device: "cpu" });
  try {
    assert.throws(() => world.tokenizer, /rwkv_vocab_v20230424\.txt .*https:\/\//s);
    // The golden model's 256-id vocabulary is byte-sized: without an explicit choice it reads bytes.
    assert.equal(plain.tokenizer.name, "bytes");
  } finally {
    world.dispose();
    plain.dispose();
    if (saved !== undefined) process.env.RWKV_VOCAB = saved;
  }
});

// Trimmed batches (docs/spec.md §3.12): positions after a micro-batch's last counted target are not
// run. The loss and its cross-entropy gradient equal the full-length (PEFT) batch's; only PEFT's
// L2Wrap at the ignored positions is left out, with its factor still 1e-4 / (batch · ctx_len).
import { test } from "node:test";
import assert from "node:assert/strict";
import { batchOf, createSampler, Dataset, Model, nextBatch, Tuner, type Sample } from "../../kernel";
import { GoldenSet } from "../helpers/golden";
import { relativeL2 } from "../../kernel/runtime/math";
import { goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();

const sample = (tokens: number[], validTargets: number): Sample => ({ tokens: Int32Array.from(tokens), validTargets });

test("batchOf trims to the batch's last counted target; peft keeps every position", () => {
  const samples = [sample([5, 6, 0, 7, 8, 9, 10], 2), sample([11, 12, 13, 0, 14, 15, 16], 3)];
  const trim = batchOf(samples);
  assert.deepEqual(
    { T: trim.T, sampleT: trim.sampleT, batch: trim.batch, nTargets: trim.nTargets },
    { T: 3, sampleT: 6, batch: 2, nTargets: 5 },
  );
  assert.deepEqual(Array.from(trim.inputs), [5, 6, 0, 11, 12, 13]);
  assert.deepEqual(Array.from(trim.targets), [6, 0, -100, 12, 13, 0]);
  const peft = batchOf(samples, "peft");
  assert.deepEqual({ T: peft.T, sampleT: peft.sampleT, nTargets: peft.nTargets }, { T: 6, sampleT: 6, nTargets: 5 });
  assert.deepEqual(Array.from(peft.targets), [6, 0, -100, -100, -100, -100, 12, 13, 0, -100, -100, -100]);
  // Full samples and a batch without targets keep their length (T ≥ 1).
  assert.equal(batchOf([sample([1, 2, 3], 2)]).T, 2);
  assert.equal(batchOf([sample([1, 2, 3], 0)]).T, 1);
  assert.throws(() => batchOf([sample([1, 2, 3], 2), sample([1, 2], 1)]), /a batch needs one length/);
});

test("nextBatch passes the padding on; the pad sampler's short documents are trimmed", () => {
  const ds = Dataset.fromDocs([
    [1, 2, 0],
    [3, 4, 5, 0],
    [6, 7, 8, 9, 10, 11, 12, 0],
  ]);
  const draw = (padding: "trim" | "peft") =>
    nextBatch(createSampler(ds, { kind: "pad", ctxLen: 6, microBsz: 2, seed: 3, epochSteps: 1 }), 2, padding);
  const a = draw("trim"),
    b = draw("peft");
  assert.equal(b.T, 6);
  assert.ok(a.T < 6, `trimmed T ${a.T}`);
  assert.equal(a.nTargets, b.nTargets);
});

test(
  "a trimmed batch has the full batch's loss and CE gradient; L2Wrap keeps the ctx_len factor",
  { skip },
  async () => {
    const model = await Model.load(new GoldenSet("v7").file("model_bf16.pth"), { device: "cpu", tokenizer: "bytes" });
    try {
      const docs = [
        Array.from("short doc", (c) => c.charCodeAt(0)),
        Array.from("a longer document", (c) => c.charCodeAt(0)),
      ];
      const stream = [...docs[0], 0, ...docs[1], 0, ...Array.from({ length: 40 }, (_, i) => 97 + (i % 26))];
      const samples = [sample(stream.slice(0, 33), docs[0].length), sample(stream.slice(10, 43), docs[1].length)];
      const trim = batchOf(samples),
        peft = batchOf(samples, "peft");
      assert.equal(trim.T, docs[1].length);
      const state = model.newState();
      state.wkv.forEach((_, i, a) => (a[i] = Math.sin(i) * 0.3)); // a non-zero tuned state
      for (const l2wrap of [false, true]) {
        const t = await model.gradToState(trim, { state, l2wrap }),
          p = await model.gradToState(peft, { state, l2wrap });
        assert.equal(t.nTargets, p.nTargets);
        assert.ok(Math.abs(t.loss - p.loss) <= 1e-6 * p.loss, `loss ${t.loss} vs ${p.loss}`);
        const r = relativeL2(t.grad, p.grad);
        // Without L2Wrap the trimmed positions contribute nothing: equal up to float summation order.
        if (!l2wrap) assert.ok(r < 1e-5, `CE gradients differ by ${r}`);
        // With it, only the ignored positions' term is missing: a small but non-zero difference.
        else assert.ok(r > 0 && r < 0.1, `L2Wrap difference ${r}`);
      }
      // The L2Wrap factor is the full sample's: a trimmed batch of full-length samples is the full batch.
      const full = [sample(stream.slice(0, 33), 32), sample(stream.slice(10, 43), 32)];
      const a = await model.gradToState(batchOf(full), { state, l2wrap: true }),
        b = await model.gradToState(batchOf(full, "peft"), { state, l2wrap: true });
      assert.deepEqual(a.grad, b.grad);
    } finally {
      model.dispose();
    }
  },
);

test("the Tuner's padding option: trim by default, peft on request, same steps without L2Wrap", { skip }, async () => {
  const model = await Model.load(new GoldenSet("v7").file("model_bf16.pth"), { device: "cpu", tokenizer: "bytes" });
  try {
    const texts = Array.from({ length: 16 }, (_, i) => `q${i}: ${"ab".repeat(1 + (i % 5))}`);
    const data = Dataset.fromTexts(texts, model.tokenizer);
    const run = async (padding: "trim" | "peft" | undefined, l2wrap: boolean) => {
      const t = new Tuner(model, data, { ctxLen: 40, microBsz: 2, totalSteps: 3, seed: 2, l2wrap, padding });
      await t.run({ live: false });
      return t;
    };
    const byDefault = await run(undefined, false);
    assert.equal(byDefault.options.padding, "trim");
    const peft = await run("peft", false);
    const losses = (t: Tuner) => t.history.map((h) => h.loss);
    losses(byDefault).forEach((l, i) => assert.ok(Math.abs(l - losses(peft)[i]) < 1e-5, `step ${i + 1}: ${l}`));
    assert.throws(
      () => new Tuner(model, data, { totalSteps: 1, ctxLen: 40, padding: "pad" as never }),
      /padding must be "trim" or "peft"/,
    );
  } finally {
    model.dispose();
  }
});

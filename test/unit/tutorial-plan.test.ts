// tutorialPlan: notebook 3's settings from the model's size and the data's document lengths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Dataset, demoFiles, type Model, type ModelConfig } from "../../kernel";
import { tutorialPlan } from "../../kernel/tutorial";
import { jsonlTexts } from "../helpers/texts";

/** A model as the plan sees it: dims, parameter count, device (no weights). */
function fakeModel(c: { nLayer: number; nEmbd: number; vocabSize: number; params: number }): Model {
  const config = { ...c, version: 7, nHead: c.nEmbd / 64, headSize: 64, dimFfn: 4 * c.nEmbd, lora: {} };
  return { config: config as unknown as ModelConfig, device: "cpu", path: "/models/m.pth" } as unknown as Model;
}
const model01B = fakeModel({ nLayer: 12, nEmbd: 768, vocabSize: 65536, params: 191_034_624 });
const model15B = fakeModel({ nLayer: 24, nEmbd: 2048, vocabSize: 65536, params: 1_527_404_544 });

/** Documents of the given lengths (end token included). */
const docsOf = (sizes: number[]) =>
  Dataset.fromDocs(sizes.map((n) => Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 0 : 1 + (i % 50)))));
/** Chat answers of 20–56 tokens, like the pirate data in World tokens. */
const chat = docsOf(Array.from({ length: 400 }, (_, i) => 20 + ((i * 7) % 37)));
const cpu2 = { flopsPerSecond: 80e9 }; // two CPU threads, the development machine's estimate

test("the demo model on its pirate data: pad sampler, ctx covering every document, the tested 60 steps", () => {
  const texts = jsonlTexts(demoFiles.data);
  const data = Dataset.fromDocs(texts.map((t) => [...Buffer.from(t)].map((b) => b + 1).concat(0)));
  const plan = tutorialPlan(demoFiles.model, data, cpu2);
  assert.deepEqual(
    [plan.sampler, plan.ctxLen, plan.microBsz, plan.totalSteps, plan.padding, plan.requiredDrop],
    ["pad", 160, 4, 60, "trim", 0.2],
  );
  assert.deepEqual(
    plan.reasons.map((r) => r.setting),
    ["model", "data", "sampler", "ctxLen", "padding", "microBsz", "totalSteps", "evaluation", "required drop"],
  );
  for (const r of plan.reasons) assert.ok(r.value && r.why, `${r.setting} has a value and a reason`);
});

test("a 0.1B model on short chat documents: 60 trimmed steps within the 90 s budget on 2 threads", () => {
  const plan = tutorialPlan(model01B, chat, cpu2);
  assert.deepEqual([plan.sampler, plan.ctxLen, plan.microBsz, plan.totalSteps], ["pad", 64, 4, 60]);
  assert.equal(plan.requiredDrop, 0);
  assert.ok(plan.estimate.tuningSeconds <= 90, `estimated ${plan.estimate.tuningSeconds} s`);
  // Trimming is what makes it fit: full 64-position samples would cost more per step.
  const why = plan.reasons.find((r) => r.setting === "padding")!.why;
  const perSample = Number(/≈ ([\d.]+) of 64 positions/.exec(why)![1]);
  assert.ok(perSample > 30 && perSample < 56, why);
});

test("a bigger model gets fewer steps, then smaller micro-batches, to keep to the budget", () => {
  const plan = tutorialPlan(model15B, chat, cpu2);
  assert.ok(plan.totalSteps >= 20 && plan.totalSteps < 60, `steps ${plan.totalSteps}`);
  assert.ok(plan.microBsz < 4, `micro-batch ${plan.microBsz}`);
  assert.ok(plan.estimate.tuningSeconds <= 90 || plan.totalSteps === 20);
  assert.ok(plan.evalSamples < 16 && plan.estimate.evaluationSeconds <= 30, `${plan.evalSamples} eval samples`);
  const gpu = tutorialPlan(model15B, chat, { flopsPerSecond: 10e12 });
  assert.deepEqual([gpu.microBsz, gpu.totalSteps], [4, 60]);
  const tight = tutorialPlan(model01B, chat, { ...cpu2, budgetSeconds: 20 });
  assert.ok(tight.totalSteps * tight.microBsz < 60 * 4);
});

test("long documents get random windows of the longest ctx that fits", () => {
  const books = docsOf(Array.from({ length: 5 }, () => 20_000));
  const plan = tutorialPlan(model01B, books, cpu2);
  assert.equal(plan.sampler, "random");
  assert.ok([64, 128, 256, 512].includes(plan.ctxLen), `ctx ${plan.ctxLen}`);
  assert.equal(plan.reasons.find((r) => r.setting === "sampler")!.value, "random");
});

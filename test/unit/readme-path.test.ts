// What a README-only user relies on: Model.demo() and what it says about itself, model.complete,
// tokenizers that default to the loaded model's, and output folders created by every writer.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  datasetTable,
  Dataset,
  demoFiles,
  makeData,
  mergeState,
  Model,
  OptionsError,
  saveStateArrow,
  toBundle,
  Tuner,
  VocabError,
} from "../../kernel";
import { goldenModelSkip } from "../helpers/golden-model";
import { GoldenSet } from "../helpers/golden";

const skip = goldenModelSkip();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-readme-path-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const jsonl = path.join(tmp, "two.jsonl");
fs.writeFileSync(jsonl, '{"text": "hi"}\n{"text": "ab"}\n');

// First, while no model is loaded: World is the default, and its error says how to use a model's own.
test("no model loaded: makeData tokenizes for World; its vocab error names tokenizer: model.tokenizer", async () => {
  const saved = process.env.RWKV_VOCAB;
  delete process.env.RWKV_VOCAB;
  try {
    await assert.rejects(
      makeData({ input: jsonl, repeat: 1, ctxLen: 1, out: path.join(tmp, "none", "x") }),
      (e: unknown) =>
        e instanceof VocabError &&
        /no model is loaded/.test(e.message) &&
        /\{ tokenizer: model\.tokenizer \}/.test(e.message),
    );
  } finally {
    if (saved !== undefined) process.env.RWKV_VOCAB = saved;
  }
});

test("Model.demo(): the shipped byte-level model, which says what it is and what it cannot do", { skip }, async () => {
  const demo = await Model.demo();
  try {
    assert.equal(demo.path, path.resolve(demoFiles.model));
    assert.equal(demo.tokenizerKind, "bytes");
    assert.equal(demo.config.vocabSize, 257);
    assert.match(demo.about ?? "", /two voices/);
    assert.match(demo.about ?? "", /learns nothing in 20 steps and turns to garbage by 150/);
    for (const f of [demoFiles.data, demoFiles.evalData]) assert.ok(fs.existsSync(f), f);
    const shown = toBundle(demo);
    assert.match(String(shown["text/html"]), /<p[^>]*>The demo model: .*two voices/);
    assert.match(String(shown["text/plain"]), /\nThe demo model: /);
    const plain = await Model.load(demoFiles.model, { tokenizer: "bytes" });
    assert.equal(plain.about, undefined);
    assert.doesNotMatch(String(toBundle(plain)["text/html"]), /The demo model/);
    plain.dispose();
    await assert.rejects(Model.demo({ tokenizer: "world" } as never), OptionsError);
  } finally {
    demo.dispose();
  }
});

test("model.complete returns what generate streams, with and without a state", { skip }, async () => {
  const demo = await Model.demo();
  try {
    const prompt = "User: what color is the sky?\n\nAssistant:";
    const opts = { maxTokens: 30, seed: 4, stop: ["\n\n"] };
    let streamed = "";
    for await (const piece of demo.generate(prompt, opts)) streamed += piece;
    assert.equal(await demo.complete(prompt, opts), streamed);
    assert.match(streamed, /The sky is blue\./);
    const state = demo.newState();
    state.wkv.forEach((_, i, a) => (a[i] = 4 * Math.sin(i)));
    let withState = "";
    for await (const piece of demo.generate(prompt, { ...opts, state })) withState += piece;
    assert.equal(await demo.complete(prompt, { ...opts, state }), withState);
    const ids = demo.tokenizer.encode(prompt);
    const [a, b] = [(await demo.forward(ids)).logits!, (await demo.forward(ids, { state })).logits!];
    assert.ok(
      a.some((x, i) => Math.abs(x - b[i]) > 1e-3),
      "the state reaches the logits",
    );
    await assert.rejects(demo.complete(prompt, { maxToken: 3 } as never), OptionsError);
  } finally {
    demo.dispose();
  }
});

test("makeData, Dataset.fromTexts and datasetTable default to the loaded model's tokenizer", { skip }, async () => {
  const demo = await Model.demo();
  try {
    const ds = Dataset.fromTexts(["hi"]);
    assert.deepEqual(Array.from(ds.doc(0)), [..."hi"].map((c) => c.charCodeAt(0) + 1).concat(0));
    const made = await makeData({ input: jsonl, repeat: 1, ctxLen: 1, out: path.join(tmp, "made", "two") });
    assert.equal(made.tokens, 6); // two 2-byte documents + their end tokens, in byte ids
    const table = datasetTable(ds);
    assert.equal(table.getChild("preview")?.get(0), "hi");
    // A second model with another tokenizer makes the default ambiguous; disposing it ends that.
    const other = await Model.load(new GoldenSet("v7").file("model_bf16.pth"), { tokenizer: "world" });
    assert.throws(
      () => Dataset.fromTexts(["hi"]),
      (e: unknown) => e instanceof OptionsError && e.key === "tokenizer" && /bytes, world/.test(e.message),
    );
    other.dispose();
    assert.equal(Dataset.fromTexts(["hi"]).tokenCount, 3);
  } finally {
    demo.dispose();
  }
});

test("every writer creates its missing output folders", { skip }, async () => {
  const demo = await Model.demo();
  try {
    const data = Dataset.fromTexts(Array.from({ length: 8 }, (_, i) => `User: ${i}?\n\nAssistant: ${i}.`));
    const tuner = new Tuner(demo, data, { ctxLen: 24, microBsz: 2, totalSteps: 1 });
    await tuner.step();
    const out = (...p: string[]) => path.join(tmp, "deep", ...p);
    await tuner.saveState(out("a", "state.pth"));
    await tuner.saveState(out("b", "state.safetensors"));
    await tuner.saveCheckpoint(out("c", "tuner.ckpt"));
    await tuner.state.save(out("d", "state.pth"));
    saveStateArrow(tuner.state, out("e", "state.arrow"));
    await mergeState(demoFiles.model, out("a", "state.pth"), out("f", "merged.pth"));
    for (const f of [
      "a/state.pth",
      "b/state.safetensors",
      "c/tuner.ckpt",
      "d/state.pth",
      "e/state.arrow",
      "f/merged.pth",
    ])
      assert.ok(fs.statSync(out(f)).size > 0, f);
  } finally {
    demo.dispose();
  }
});

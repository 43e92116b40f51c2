// Inputs checked at the boundary: unknown or misspelled option keys and wrong types are refused
// with an OptionsError naming the key (and the key that was probably meant); token inputs must be
// integer ids of the vocabulary. Runs on the byte-level demo model the project ships.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Dataset, makeData, Model, OptionsError, RwkvError, State, Tuner, writeRandomCheckpoint } from "../../kernel";
import { loadTokenizer } from "../../kernel/runtime/tokenizer";
import { closestKey } from "../../kernel/runtime/check";
import { tutorialSetup } from "../../kernel/tutorial";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-options-"));

/** An OptionsError naming `key` (and suggesting `near`), whose message matches `re`. */
function optionsError(key: string, re: RegExp, near?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof OptionsError && e instanceof RwkvError, String(e));
    assert.equal(e.name, "OptionsError");
    assert.equal(e.key, key);
    if (near !== undefined) assert.equal(e.suggestion, near);
    assert.match(e.message, re);
    return true;
  };
}

test("closest key: case, containment and small edits; nothing for unrelated names", () => {
  const keys = ["vocabSize", "nLayer", "nEmbd", "maxTokens", "ctxLen", "state"];
  assert.equal(closestKey("vocab", keys), "vocabSize");
  assert.equal(closestKey("nlayer", keys), "nLayer");
  assert.equal(closestKey("maxToken", keys), "maxTokens");
  assert.equal(closestKey("ctx_len", keys), "ctxLen");
  assert.equal(closestKey("stat", keys), "state");
  assert.equal(closestKey("temperature", keys), undefined);
});

test("writeRandomCheckpoint: a misspelled key and a wrong type name the key, before anything is written", () => {
  const f = path.join(tmp, "r.pth");
  assert.throws(
    () => writeRandomCheckpoint(f, { version: 7, nLayer: 1, nEmbd: 64, vocab: 65536 } as never),
    optionsError("vocab", /unknown option 'vocab' \(did you mean vocabSize\?\)/, "vocabSize"),
  );
  assert.throws(
    () => writeRandomCheckpoint(f, { version: 7, nLayer: "2", nEmbd: 64, vocabSize: 300 } as never),
    optionsError("nLayer", /nLayer must be an integer ≥ 1, got "2"/),
  );
  assert.throws(
    () => writeRandomCheckpoint(f, { version: 5, nLayer: 1, nEmbd: 64, vocabSize: 300 } as never),
    optionsError("version", /version must be 7 or 6, got 5/),
  );
  assert.throws(
    () => writeRandomCheckpoint(f, { version: 7, nLayer: 1, nEmbd: 64 } as never),
    optionsError("vocabSize", /option 'vocabSize' is required/),
  );
  assert.equal(fs.existsSync(f), false);
});

test("makeData and loadTokenizer refuse unknown keys and bad values", async () => {
  const input = path.join(tmp, "in.jsonl");
  fs.writeFileSync(input, '{"text": "hello"}\n');
  await assert.rejects(
    makeData({ input, repeat: 1, ctxlen: 4 } as never),
    optionsError("ctxlen", /did you mean ctxLen\?/, "ctxLen"),
  );
  await assert.rejects(
    makeData({ input, repeat: 0, ctxLen: 4 }),
    optionsError("repeat", /repeat must be an integer ≥ 1/),
  );
  assert.throws(() => loadTokenizer({ kind: "bpe" as never }), optionsError("kind", /kind must be "world" or "bytes"/));
});

test("the model and the tuner check their options and token inputs", async () => {
  const setup = tutorialSetup({});
  const model = await Model.load(setup.modelPath, { device: "cpu" });
  try {
    await assert.rejects(Model.load(setup.modelPath, { devcie: "cpu" } as never), optionsError("devcie", /device/));
    await assert.rejects(
      model.forward(new Float32Array([1.5, 2.5])),
      optionsError("tokens", /token 1\.5 at position 0 is not an integer token id/),
    );
    await assert.rejects(model.forward([5, 7.25]), optionsError("tokens", /token 7\.25 at position 1/));
    await assert.rejects(model.forward([5], { stat: model.newState() } as never), optionsError("stat", /state/));
    await assert.rejects(model.forward([5], { state: { wkv: [] } } as never), optionsError("state", /must be a State/));
    const gen = model.generate("hi", { maxToken: 5 } as never);
    await assert.rejects(gen.next(), optionsError("maxToken", /did you mean maxTokens\?/, "maxTokens"));
    await assert.rejects(model.generate("hi", { topP: 2 }).next(), optionsError("topP", /topP must be in \(0, 1\]/));

    const data = Dataset.fromTexts(
      Array.from({ length: 12 }, (_, i) => `User: what is ${i} plus 1?\n\nAssistant: ${i + 1}.`),
      model.tokenizer,
    );
    assert.throws(
      () => new Tuner(model, data, { ctxLen: 16, totalSteps: 2, lr_init: 1 } as never),
      optionsError("lr_init", /did you mean lrInit\?/, "lrInit"),
    );
    assert.throws(
      () => new Tuner(model, data, { ctxLen: 16, totalSteps: 2, sampler: "shuffle" } as never),
      optionsError("sampler", /sampler must be "pad", "random" or "magic-prime"/),
    );
    // the magic-prime sampler is reachable from the Tuner
    const tuner = new Tuner(model, data, { ctxLen: 16, totalSteps: 2, sampler: "magic-prime" });
    await assert.rejects(tuner.run({ step: 1 } as never), optionsError("step", /did you mean steps\?/, "steps"));
    const rec = await tuner.step();
    assert.ok(Number.isFinite(rec.loss) && rec.tokens === 16);
    await assert.rejects(
      new State(model.config).save(path.join(tmp, "s.pth"), { dtype: "f64" } as never),
      optionsError("dtype", /dtype must be "bf16" or "f32"/),
    );
  } finally {
    model.dispose();
  }
});

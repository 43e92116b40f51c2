// One vocab lookup everywhere: Model.load, loadTokenizer, makeData, tutorialSetup and the CLI find
// the World vocab the same way (explicit option, $RWKV_VOCAB, beside the model) and list every
// place they looked when it is missing; a byte-level model never asks for the World vocab.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BinIdxDataset, loadTokenizer, makeData, Model, VocabError, writeRandomCheckpoint } from "../../kernel";
import { tutorialSetup } from "../../kernel/tutorial";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const VOCAB = "rwkv_vocab_v20230424.txt";

/** A small valid World vocab: the 256 single bytes and a few longer tokens. */
function writeVocab(file: string): void {
  const hex = (b: number) => `\\x${b.toString(16).padStart(2, "0")}`;
  const lines = Array.from({ length: 256 }, (_, b) => `${b + 1} b'${hex(b)}' 1`);
  lines.push("257 'hello' 5", "258 ' world' 6");
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

function withoutEnvVocab<T>(fn: () => Promise<T>): () => Promise<T> {
  return async () => {
    const saved = process.env.RWKV_VOCAB;
    delete process.env.RWKV_VOCAB;
    try {
      return await fn();
    } finally {
      if (saved !== undefined) process.env.RWKV_VOCAB = saved;
    }
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-vocab-lookup-"));
const worldModel = path.join(dir, "models", "world.pth");
fs.mkdirSync(path.dirname(worldModel));
writeRandomCheckpoint(worldModel, { version: 7, nLayer: 1, nEmbd: 64, vocabSize: 300, seed: 1 });
const input = path.join(dir, "in.jsonl");
fs.writeFileSync(input, '{"text": "hello world"}\n{"text": "hello"}\n');

test(
  "a World model without its vocab: the error lists RWKV_VOCAB and the folder of the model",
  withoutEnvVocab(async () => {
    const model = await Model.load(worldModel, { device: "cpu" });
    try {
      assert.throws(
        () => model.tokenizer,
        (e: unknown) =>
          e instanceof VocabError &&
          e.searched!.length === 2 &&
          e.searched![0] === "RWKV_VOCAB (not set)" &&
          e.searched![1].startsWith(path.join(dir, "models", VOCAB)),
      );
    } finally {
      model.dispose();
    }
    assert.throws(() => tutorialSetup({ RWKV_MODEL: worldModel }), VocabError);
    assert.throws(() => loadTokenizer({ modelPath: worldModel }), /RWKV_VOCAB \(not set\); .*models/);
  }),
);

test(
  "the vocab beside the model is found by Model.load, loadTokenizer, makeData, tutorialSetup and the CLI",
  withoutEnvVocab(async () => {
    const beside = path.join(dir, "models", VOCAB);
    writeVocab(beside);
    try {
      const model = await Model.load(worldModel, { device: "cpu" });
      try {
        assert.deepEqual([...model.tokenizer.encode("hello world")], [257, 258]);
      } finally {
        model.dispose();
      }
      assert.equal(loadTokenizer({ modelPath: worldModel }).name, "world");
      const setup = tutorialSetup({ RWKV_MODEL: worldModel });
      assert.deepEqual([setup.tokenizer, setup.vocab], ["world", beside]);
      const made = await makeData({
        input,
        repeat: 1,
        ctxLen: 2,
        out: path.join(dir, "out", "w"),
        tokenizer: { modelPath: worldModel },
      });
      const ds = BinIdxDataset.open(made.binFile);
      const docs = [0, 1].map((d) => [...ds.doc(d)].join(" ")).sort();
      assert.deepEqual(docs, ["257 0", "257 258 0"]); // World tokens, in shuffled order
      ds.close();
      const cli = spawnSync(
        process.execPath,
        [path.join(ROOT, "bin", "rwkv-nb.js"), "tokenize", "--model", worldModel, "hello world"],
        { encoding: "utf8", env: { ...process.env, RWKV_VOCAB: "" } },
      );
      assert.equal(cli.stdout.trim(), "257 258", cli.stderr);
    } finally {
      fs.rmSync(beside);
    }
  }),
);

test(
  "a byte-level model uses its own tokenizer, wherever a tokenizer is taken; never the World vocab",
  withoutEnvVocab(async () => {
    const demo = tutorialSetup({});
    assert.equal(loadTokenizer({ modelPath: demo.modelPath }).name, "bytes");
    const model = await Model.load(demo.modelPath, { device: "cpu" });
    try {
      assert.equal(model.tokenizer.name, "bytes");
      const made = await makeData({
        input,
        repeat: 1,
        ctxLen: 2,
        out: path.join(dir, "b"),
        tokenizer: model.tokenizer,
      });
      assert.equal(made.tokensPerCopy, "hello world".length + 1 + "hello".length + 1);
      const copy = path.join(dir, "copy.pth");
      fs.copyFileSync(worldModel, copy); // a World-sized model in a folder without a vocab
      const other = await Model.load(copy, { device: "cpu", tokenizer: model.tokenizer });
      try {
        assert.equal(other.tokenizer, model.tokenizer);
      } finally {
        other.dispose();
      }
    } finally {
      model.dispose();
    }
  }),
);

test("make-data --out dir/prefix creates the missing folder", () => {
  const out = path.join(dir, "new", "sub", "data");
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "bin", "rwkv-nb.js"), "make-data", input, "1", "2", "--tokenizer", "bytes", "--out", out],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(`${out}.bin`) && fs.existsSync(`${out}.idx`));
});

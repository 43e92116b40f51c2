// Chat and SFT data (docs/spec.md §5.4): the World chat template, make-data --format chat with its
// loss-mask sidecar (order, workers, bad lines, stale masks), Dataset.fromChat, and on 200
// conversations, masked tuning that counts exactly the answers' tokens the template says.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import {
  BinIdxDataset,
  ByteTokenizer,
  createSampler,
  DataError,
  Dataset,
  makeData,
  Model,
  nextBatch,
  renderedText,
  Tuner,
  type MakeDataOptions,
} from "../../kernel";
import { chatSegments, normalizeContent } from "../../kernel/runtime/data/chat";
import { lineFailure } from "../../kernel/runtime/data/jsonl";
import { resolveTunerOptions } from "../../kernel/runtime/tune/options";
import { GoldenSet } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";

const bytes = new ByteTokenizer();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-chat-data-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => fs.mkdtempSync(path.join(tmp, `d${dirs++}-`));
const write = (dir: string, lines: unknown[], name = "chat.jsonl"): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return f;
};
const make = (o: Partial<MakeDataOptions> & { input: string }) =>
  makeData({ repeat: 1, ctxLen: 4, tokenizer: bytes, format: "chat", workers: 1, ...o });
const fail = lineFailure("", 1, "test");

test("the template: roles, prompt/response, text lines, and content with blank lines", () => {
  const conv = {
    messages: [
      { role: "system", content: "You are a pirate." },
      { role: "user", content: "  hi \r\n\r\n there " },
      { role: "assistant", content: "Arr!" },
      { role: "user", content: "bye" },
      { role: "assistant", content: "Farewell,\n\n\nmatey." },
    ],
  };
  const segs = chatSegments(conv, ["query", "response"], fail);
  assert.equal(
    renderedText(segs),
    "System: You are a pirate.\n\nUser: hi \n there\n\nAssistant: Arr!\n\n" +
      "User: bye\n\nAssistant: Farewell,\nmatey.\n\n",
  );
  assert.deepEqual(
    segs.filter((s) => s.counted).map((s) => s.text),
    [" Arr!\n\n", " Farewell,\nmatey.\n\n"],
    "the answers after 'Assistant:' count, with the blank line that ends them",
  );
  const sft = chatSegments({ query: "2+2?", response: "4", id: 7 }, ["query", "response"], fail);
  assert.equal(renderedText(sft), "User: 2+2?\n\nAssistant: 4\n\n");
  const custom = chatSegments({ prompt: "q", completion: "a" }, ["prompt", "completion"], fail);
  assert.equal(renderedText(custom), "User: q\n\nAssistant: a\n\n");
  assert.deepEqual(chatSegments({ text: "plain" }, ["query", "response"], fail), [{ text: "plain", counted: true }]);
  assert.equal(normalizeContent("a\r\n \r\nb\n\n\nc"), "a\nb\nc");
});

/** 200 conversations: a system line in some, one to three user/assistant turns, some in query/response form. */
function conversations(n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    if (i % 5 === 4) {
      out.push({ query: `what is ${i} plus 1?`, response: `${i} plus 1 is ${i + 1}.` });
      continue;
    }
    const messages: Array<{ role: string; content: string }> = [];
    if (i % 3 === 0) messages.push({ role: "system", content: "You are a pirate." });
    for (let t = 0; t <= i % 3; t++) {
      messages.push({ role: "user", content: `question ${i}.${t}?` });
      messages.push({ role: "assistant", content: `Arr, answer ${i}.${t}${"!".repeat(t)}` });
    }
    out.push({ messages });
  }
  return out;
}
/** What the template says counts: each answer as " content\n\n". */
function answersOf(c: Record<string, unknown>): string[] {
  if ("response" in c) return [` ${c.response as string}\n\n`];
  return (c.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role === "assistant")
    .map((m) => ` ${m.content}\n\n`);
}

test("make-data --format chat: binidx and mask in one shuffled order; workers and chunks change nothing", async () => {
  const dir = freshDir();
  const convs = conversations(60);
  const input = write(dir, [...convs.slice(0, 30), "", { text: "a plain document" }, ...convs.slice(30)]);
  const r = await make({ input, repeat: 2, seed: 3, out: path.join(dir, "one") });
  assert.equal(r.format, "chat");
  assert.equal(r.maskFile, path.join(dir, "one.mask"));
  assert.equal(r.documents, 61);
  const ds = BinIdxDataset.open(path.join(dir, "one"));
  assert.ok(ds.lossMask, "the mask is opened with the binidx");
  const expectCounted = 2 * (convs.flatMap(answersOf).join("").length + "a plain document".length + 1);
  assert.equal(r.countedTokens, expectCounted);
  let counted = 0;
  for (let i = 0; i < ds.docCount; i++) {
    const tokens = ds.doc(i),
      mask = ds.maskSlice!(ds.docStart(i), ds.docSize(i));
    const text = bytes.decode(tokens);
    const kept = bytes.decode(tokens.filter((_, j) => mask[j] === 1));
    if (text === "a plain document")
      assert.ok(
        mask.every((m) => m === 1),
        "a text line counts whole",
      );
    else {
      const conv = convs.find((c) => renderedText(chatSegments(c, ["query", "response"], fail)) === text);
      assert.ok(conv, `document ${i} is one of the conversations: ${JSON.stringify(text)}`);
      assert.equal(kept, answersOf(conv).join(""), `document ${i}: exactly the answers count`);
      assert.equal(mask[mask.length - 1], 0, "the end of a conversation does not count");
    }
    counted += mask.reduce((a, m) => a + m, 0);
  }
  assert.equal(counted, expectCounted);
  const many = await make({ input, repeat: 2, seed: 3, out: path.join(dir, "many"), workers: 2, chunkBytes: 300 });
  assert.equal(many.countedTokens, r.countedTokens);
  for (const ext of [".bin", ".idx", ".mask"])
    assert.deepEqual(fs.readFileSync(path.join(dir, `many${ext}`)), fs.readFileSync(path.join(dir, `one${ext}`)), ext);
  const header = fs.readFileSync(path.join(dir, "one.mask")).subarray(0, 8).toString("latin1");
  assert.equal(header, "RWKVMASK");
});

test("Dataset.fromChat gives the documents and masks make-data writes", async () => {
  const dir = freshDir();
  const convs = conversations(20);
  await make({ input: write(dir, convs), out: path.join(dir, "d") });
  const file = BinIdxDataset.open(path.join(dir, "d"));
  const mem = Dataset.fromChat(convs, bytes);
  const key = (ds: BinIdxDataset | Dataset, i: number) =>
    `${ds.doc(i).join(",")}|${ds.maskSlice!(ds.docStart(i), ds.docSize(i)).join("")}`;
  const a = Array.from({ length: file.docCount }, (_, i) => key(file, i)).sort(),
    b = Array.from({ length: mem.docCount }, (_, i) => key(mem, i)).sort();
  assert.deepEqual(a, b);
  assert.equal(
    Dataset.fromChat([JSON.stringify(convs[0]), ""], bytes).docCount,
    1,
    "jsonl strings, blank lines skipped",
  );
});

test("a malformed chat line is named with its line number, and nothing is left behind", async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ messages: [{ role: "robot", content: "x" }] }, /line 3: messages\[0\]\.role is "robot": use "system", "user"/],
    [{ messages: [{ role: "user", content: 5 }] }, /line 3: "messages\[0\]\.content" is number, not a string/],
    [{ messages: [] }, /line 3: "messages" must be a non-empty array/],
    [{ query: "q" }, /line 3: has "query" but no "response" field/],
    [{ other: 1 }, /line 3: no "text", "messages" or "query"\/"response" fields/],
    ["{not json", /line 3: not JSON/],
  ];
  for (const [bad, pattern] of cases) {
    const dir = freshDir();
    const input = write(dir, [{ query: "a", response: "b" }, "", bad, { text: "t" }]);
    await assert.rejects(make({ input, out: path.join(dir, "out") }), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.line, 3);
      assert.match(e.message, pattern);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir), ["chat.jsonl"], "no output and no temporary file");
    const skipped = await make({ input, out: path.join(dir, "out"), skipBad: true });
    assert.equal(skipped.skipped, 1);
    assert.equal(skipped.documents, 2);
  }
  const dir = freshDir();
  const custom = write(dir, [{ prompt: "p", completion: "c" }]);
  const r = await make({ input: custom, fields: ["prompt", "completion"], out: path.join(dir, "c") });
  assert.equal(r.countedTokens, " c\n\n".length);
  await assert.rejects(make({ input: custom, fields: ["a", "a"] as never }), /two different field names/);
});

test("a mask that belongs to other data is refused; text data at a chat prefix removes the old mask", async () => {
  const dir = freshDir();
  const convs = conversations(10);
  await make({ input: write(dir, convs), out: path.join(dir, "a") });
  await make({ input: write(dir, convs.slice(0, 9), "b.jsonl"), out: path.join(dir, "b") });
  fs.copyFileSync(path.join(dir, "a.mask"), path.join(dir, "b.mask"));
  assert.throws(
    () => BinIdxDataset.open(path.join(dir, "b")),
    (e: unknown) => e instanceof DataError && /b\.mask: it was written for other data/.test(e.message),
  );
  const text = write(dir, [{ text: "only text here" }], "t.jsonl");
  await make({ input: text, out: path.join(dir, "a"), format: "text" });
  assert.ok(!fs.existsSync(path.join(dir, "a.mask")), "the stale mask is gone");
  assert.equal(BinIdxDataset.open(path.join(dir, "a")).lossMask, null);
  const noMask = Dataset.fromDocs([new Int32Array(20)]);
  assert.equal(resolveTunerOptions({ ctxLen: 4, totalSteps: 1 }, noMask).lossMask, "none", "no mask: every target");
  assert.throws(
    () => resolveTunerOptions({ ctxLen: 4, totalSteps: 1, lossMask: "response" }, noMask),
    /lossMask "response" needs data with a loss mask/,
  );
});

test(
  "200 conversations: masked tuning counts exactly the answers' tokens, unmasked every document token",
  { skip: goldenModelSkip() },
  async () => {
    const dir = freshDir();
    const convs = conversations(200);
    const r = await make({ input: write(dir, convs), out: path.join(dir, "chat"), ctxLen: 128 });
    const data = BinIdxDataset.open(path.join(dir, "chat"));
    let longest = 0;
    for (let i = 0; i < data.docCount; i++) longest = Math.max(longest, data.docSize(i));
    const answers = convs.flatMap(answersOf);
    const answerTokens = answers.join("").length; // bytes: one token per byte
    assert.equal(r.countedTokens, answerTokens);

    // What a masked batch holds: the counted targets decode to the answers, in document order.
    const sampler = createSampler(data, { kind: "pad", ctxLen: longest, microBsz: 1, seed: 1, lossMask: true });
    for (let k = 0; k < 20; k++) {
      const b = nextBatch(sampler, 1);
      const text = bytes.decode(b.inputs.filter((t) => t !== 0));
      const conv = convs.find((c) => text.startsWith(renderedText(chatSegments(c, ["query", "response"], fail))));
      assert.ok(conv, `sample ${k} starts with a conversation`);
      assert.equal(bytes.decode(b.targets.filter((t) => t >= 0)), answersOf(conv).join(""), `sample ${k}`);
    }

    const model = await Model.load(new GoldenSet("v7").file("model_bf16.pth"), { device: "cpu", tokenizer: "bytes" });
    try {
      // One epoch of the pad sampler visits every conversation once.
      const opts = { ctxLen: longest, microBsz: 4, epochSteps: 50, totalSteps: 50, seed: 2, lrInit: 0.01 };
      const masked = new Tuner(model, data, opts);
      assert.equal(masked.options.lossMask, "response");
      await masked.run({ live: false });
      assert.equal(
        masked.history.reduce((a, s) => a + s.tokens, 0),
        answerTokens,
        "the loss counted the answers' tokens and nothing else",
      );
      const plain = new Tuner(model, data, { ...opts, lossMask: "none" });
      await plain.run({ live: false });
      let docTargets = 0;
      for (let i = 0; i < data.docCount; i++) docTargets += data.docSize(i) - 1;
      assert.equal(
        plain.history.reduce((a, s) => a + s.tokens, 0),
        docTargets,
        "unmasked: every document token",
      );
    } finally {
      model.dispose();
    }
  },
);

test(
  "CLI: make-data --format chat, then tune with layers, accumulation, validation, keep-best and a JSONL log",
  { skip: goldenModelSkip() },
  () => {
    const dir = freshDir();
    const bin = path.resolve(__dirname, "..", "..", "..", "bin", "rwkv-nb.js");
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir });
    const input = write(
      dir,
      conversations(40).map((c) => ("query" in c ? { prompt: c.query, answer: c.response } : c)),
    );
    const made = cli(
      "make-data",
      input,
      "1",
      "64",
      "--tokenizer",
      "bytes",
      "--format",
      "chat",
      "--fields",
      "prompt,answer",
    );
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /wrote .*chat\.bin, .*chat\.idx and .*chat\.mask/);
    assert.match(made.stdout, /loss mask: [\d,]+ of [\d,]+ tokens \([\d.]+%\) are answers that count/);
    const bad = cli("make-data", input, "1", "64", "--tokenizer", "bytes", "--fields", "a,b");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--fields takes two names, <prompt>,<response>, with --format chat/);

    const model = new GoldenSet("v7").file("model_bf16.pth");
    const tuned = cli(
      "tune",
      model,
      "--data",
      "chat",
      "--out",
      "s.pth",
      "--steps",
      "6",
      "--ctx-len",
      "64",
      "--layers",
      "1",
      "--accumulate",
      "2",
      "--validation",
      "chat",
      "--val-every",
      "2",
      "--val-samples",
      "8",
      "--keep-best",
      "--patience",
      "10",
      "--device",
      "cpu",
    );
    assert.equal(tuned.status, 0, tuned.stderr);
    const summary = JSON.parse(tuned.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    assert.equal(summary.steps, 6);
    assert.equal(summary.saved, "best");
    const log = fs
      .readFileSync(path.join(dir, "s.pth.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: number; validationLoss?: number; tokens: number });
    assert.deepEqual(
      log.map((r) => r.step),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      log.filter((r) => r.validationLoss !== undefined).map((r) => r.step),
      [2, 4, 6],
      "the held-out loss is in the log",
    );
    const best = log.reduce(
      (a, r) => (r.validationLoss !== undefined && r.validationLoss < a ? r.validationLoss : a),
      Infinity,
    );
    assert.equal((summary.best as { validationLoss: number }).validationLoss, best);
    const saved = fs.readFileSync(path.join(dir, "s.pth"));
    assert.ok(saved.length > 0);
    const wrong = cli(
      "tune",
      model,
      "--data",
      "chat",
      "--out",
      "x.pth",
      "--steps",
      "1",
      "--layers",
      "5",
      "--device",
      "cpu",
    );
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /layers "5": the model has layers 0\.\.1/);
  },
);

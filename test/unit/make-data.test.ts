// make-data (jsonl → binidx): documents come back exactly, repeated copies are seeded
// permutations, chunking/workers do not change the output; every bad input gets its error;
// an interrupted run leaves the previous output intact and no temporary files.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { BinIdxDataset, formatProgress, readJsonlTexts, type DataProgress } from "../../kernel/runtime/data";
import { makeData, type MakeDataOptions } from "../../kernel/runtime/data/make-data";
import { ByteTokenizer, WorldTokenizer } from "../../kernel/runtime/tokenizer";
import { writeTestVocab } from "../helpers/world-vocab";

const bytes = new ByteTokenizer();
const TEXTS = [
  "Hello world",
  "你好，世界",
  "User: hi\n\nAssistant: 😀 ok",
  "",
  "code {\n\treturn 1;\n}",
  'a "quoted" \\ backslash',
  "x".repeat(3000),
  "日本語",
];

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-make-data-"));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}
function jsonl(dir: string, lines: string[], name = "in.jsonl"): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.join("\n"));
  return f;
}
const docLines = (texts: string[]): string[] => texts.map((text) => JSON.stringify({ text, meta: 1 }));
const run = (o: Partial<MakeDataOptions> & { input: string }): ReturnType<typeof makeData> =>
  makeData({ repeat: 1, ctxLen: 4, tokenizer: bytes, ...o });
const listTemp = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.includes(".tmp-"));

test(
  "documents read back exactly; each of the repeated copies is a seeded permutation",
  withDir(async (dir) => {
    const input = jsonl(dir, ["", ...docLines(TEXTS).flatMap((l) => [l, "  "])]); // blank lines are dropped
    const out = path.join(dir, "out");
    const r = await run({ input, repeat: 3, out, seed: 5 });
    assert.equal(r.documents, TEXTS.length);
    assert.equal(r.items, 3 * TEXTS.length);
    const ds = BinIdxDataset.open(out);
    assert.equal(ds.docCount, r.items);
    assert.equal(ds.tokenCount, r.tokens);
    const orders: number[][] = [];
    for (let c = 0; c < 3; c++) {
      const order: number[] = [];
      for (let k = 0; k < TEXTS.length; k++) {
        const doc = ds.doc(c * TEXTS.length + k);
        assert.equal(doc[doc.length - 1], 0);
        const i = TEXTS.indexOf(bytes.decode(doc.subarray(0, doc.length - 1)));
        assert.ok(i >= 0);
        order.push(i);
      }
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        TEXTS.map((_, i) => i),
      );
      orders.push(order);
    }
    assert.ok(
      orders.some((o) => o.join() !== orders[0].join()),
      "copies are shuffled independently",
    );
    ds.close();
    // same seed → same bytes, whatever the chunking and worker count; another seed → another order
    const again = path.join(dir, "again");
    await run({ input, repeat: 3, out: again, seed: 5, chunkBytes: 64, workers: 3 });
    assert.ok(fs.readFileSync(`${out}.bin`).equals(fs.readFileSync(`${again}.bin`)));
    assert.ok(fs.readFileSync(`${out}.idx`).equals(fs.readFileSync(`${again}.idx`)));
    await run({ input, repeat: 3, out: again, seed: 6 });
    assert.ok(!fs.readFileSync(`${out}.bin`).equals(fs.readFileSync(`${again}.bin`)));
    assert.deepEqual(listTemp(dir), []);
  }),
);

test(
  "World tokenizer output matches encode() + token 0 per document; CRLF and a BOM are handled",
  withDir(async (dir) => {
    const world = WorldTokenizer.load(writeTestVocab(dir).file);
    const input = path.join(dir, "w.jsonl");
    fs.writeFileSync(input, `\ufeff${docLines(TEXTS).join("\r\n")}\r\n`);
    const r = await makeData({ input, repeat: 1, ctxLen: 8, tokenizer: world, out: path.join(dir, "w"), seed: 1 });
    const ds = BinIdxDataset.open(path.join(dir, "w"));
    const expected = new Map(TEXTS.map((t) => [[...world.encode(t), 0].join(), t]));
    for (let i = 0; i < ds.docCount; i++) assert.ok(expected.has(Array.from(ds.doc(i)).join()), `doc ${i}`);
    assert.equal(
      r.tokens,
      TEXTS.reduce((s, t) => s + world.encode(t).length + 1, 0),
    );
    ds.close();
  }),
);

test(
  "bad lines stop with file, line number and snippet; --skip-bad skips and counts them",
  withDir(async (dir) => {
    const cases: Array<[string, RegExp]> = [
      ['{"text": "unterminated', /in\.jsonl line 3: not JSON .*: "\{\\"text\\": \\"unterminated"/],
      ['{"txt": "x"}', /in\.jsonl line 3: no "text" field/],
      ['{"text": 42}', /in\.jsonl line 3: "text" is number, not a string/],
      ['{"text": null}', /line 3: "text" is null/],
      ['["text"]', /line 3: not a JSON object/],
      ['{"text": "\\ud800"}', /line 3: "text" holds an unpaired surrogate/],
    ];
    for (const [bad, re] of cases) {
      const input = jsonl(dir, [...docLines(["a", "b"]), bad, ...docLines(["c"])]);
      await assert.rejects(run({ input, out: path.join(dir, "o") }), re);
      assert.ok(!fs.existsSync(path.join(dir, "o.bin")));
      const r = await run({ input, out: path.join(dir, "o"), skipBad: true });
      assert.equal(r.documents, 3);
      assert.equal(r.skipped, 1);
      assert.equal(r.skippedLines[0].line, 3);
      fs.rmSync(r.binFile);
      fs.rmSync(r.idxFile);
    }
    assert.deepEqual(listTemp(dir), []);
  }),
);

test(
  "empty input, blank-only input, invalid UTF-8 (with byte offset), missing input",
  withDir(async (dir) => {
    await assert.rejects(run({ input: jsonl(dir, [], "empty.jsonl") }), /empty\.jsonl is empty/);
    await assert.rejects(
      run({ input: jsonl(dir, ["", "  ", ""], "blank.jsonl"), out: path.join(dir, "b") }),
      /blank\.jsonl: no documents \(2 lines, all blank\)/,
    );
    const bad = path.join(dir, "bad.jsonl");
    const head = Buffer.from(`${docLines(["ok"])[0]}\n{"text": "caf`);
    fs.writeFileSync(bad, new Uint8Array(Buffer.concat([head, Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')])));
    await assert.rejects(
      run({ input: bad, out: path.join(dir, "b"), skipBad: true }),
      new RegExp(`bad\\.jsonl line 2: invalid UTF-8 at byte offset ${head.length} of the file`),
    );
    await assert.rejects(run({ input: path.join(dir, "missing.jsonl") }), /cannot read input .*missing\.jsonl/);
    assert.deepEqual(listTemp(dir), []);
  }),
);

test(
  "a missing output folder is created; a file in its way and too little data give clear errors and write nothing",
  withDir(async (dir) => {
    const input = jsonl(dir, docLines(["abc", "de"]));
    const made = await run({ input, out: path.join(dir, "no", "such", "dir", "x") });
    assert.equal(made.binFile, path.join(dir, "no", "such", "dir", "x.bin"));
    assert.ok(fs.existsSync(made.binFile) && fs.existsSync(made.idxFile));
    fs.writeFileSync(path.join(dir, "file"), "");
    await assert.rejects(run({ input, out: path.join(dir, "file", "x") }), /output folder .*file is not a folder/);
    await assert.rejects(
      run({ input, out: path.join(dir, "small"), ctxLen: 100, repeat: 2 }),
      /the data holds 14 tokens \(2 documents, 7 tokens × repeat 2\), fewer than ctx_len\+1 = 101/,
    );
    assert.ok(!fs.existsSync(path.join(dir, "small.bin")) && !fs.existsSync(path.join(dir, "small.idx")));
    assert.deepEqual(listTemp(dir), []);
  }),
);

test(
  "an interrupted run (AbortSignal) leaves the previous output intact and no temporary files",
  withDir(async (dir) => {
    const input = jsonl(dir, docLines(Array.from({ length: 3000 }, (_, i) => `document ${i} ${"z".repeat(i % 50)}`)));
    const out = path.join(dir, "keep");
    await run({ input, out, repeat: 2, seed: 1 });
    const before = [fs.readFileSync(`${out}.bin`), fs.readFileSync(`${out}.idx`)];
    for (const phase of ["tokenize", "write"] as const) {
      const ctl = new AbortController();
      let events = 0;
      await assert.rejects(
        run({
          input,
          out,
          repeat: 4,
          seed: 2,
          chunkBytes: 4096,
          signal: ctl.signal,
          onProgress: (p) => {
            events++;
            if (p.phase === phase) ctl.abort();
          },
        }),
        (e: Error) => e.name === "AbortError",
      );
      assert.ok(events > 0);
      assert.ok(fs.readFileSync(`${out}.bin`).equals(before[0]), `${phase}: .bin unchanged`);
      assert.ok(fs.readFileSync(`${out}.idx`).equals(before[1]), `${phase}: .idx unchanged`);
      assert.deepEqual(listTemp(dir), [], phase);
    }
  }),
);

test(
  "progress events: tokenize bytes then written tokens, ending at their totals",
  withDir(async (dir) => {
    const input = jsonl(dir, docLines(Array.from({ length: 500 }, (_, i) => `line ${i}`)));
    const events: DataProgress[] = [];
    const r = await run({
      input,
      out: path.join(dir, "p"),
      repeat: 2,
      chunkBytes: 1024,
      onProgress: (p) => events.push(p),
    });
    const tok = events.filter((e) => e.phase === "tokenize");
    const wr = events.filter((e) => e.phase === "write");
    assert.ok(tok.length > 1 && wr.length >= 1);
    assert.equal(tok[tok.length - 1].done, fs.statSync(input).size);
    assert.equal(wr[wr.length - 1].done, r.tokens);
    assert.equal(wr[wr.length - 1].total, r.tokens);
    assert.match(
      formatProgress({ ...tok[0], done: 5e6, total: 1e7, lines: 1234, mbPerSec: 25, etaSeconds: 65 }),
      /^tokenize \[#{12}\.{12}\] {2}50% {2}5\.0\/10\.0 MB {2}1,234 lines {2}25\.0 MB\/s {2}ETA 1:05$/,
    );
  }),
);

test(
  "readJsonlTexts streams texts with line numbers across chunk boundaries",
  withDir(async (dir) => {
    const long = "y".repeat(3 << 20); // longer than one read chunk
    const input = jsonl(dir, [docLines(["first"])[0], "", docLines([long])[0], docLines(["last"])[0]]);
    const got: Array<{ line: number; len: number }> = [];
    for await (const { line, text } of readJsonlTexts(input)) got.push({ line, len: text.length });
    assert.deepEqual(got, [
      { line: 1, len: 5 },
      { line: 3, len: long.length },
      { line: 4, len: 4 },
    ]);
    const bad = jsonl(dir, [docLines(["a"])[0], "{oops"], "bad.jsonl");
    await assert.rejects(async () => {
      for await (const _ of readJsonlTexts(bad)) {
        /* drain */
      }
    }, /bad\.jsonl line 2: not JSON/);
  }),
);

test(
  "CLI: rwkv-nb make-data prints counts, the magic prime flags and what the data supports",
  withDir(async (dir) => {
    const input = jsonl(dir, docLines(Array.from({ length: 40 }, (_, i) => `sample text number ${i}`)));
    const bin = path.resolve(__dirname, "..", "..", "..", "bin", "rwkv-nb.js");
    const r = spawnSync(
      process.execPath,
      [bin, "make-data", input, "3", "16", "--tokenizer", "bytes", "--out", path.join(dir, "cli"), "--micro-bsz", "4"],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /40 lines, 40 documents/);
    assert.match(r.stdout, /in 120 items \(uint16\)/);
    assert.match(r.stdout, /magic_prime = \d+ \(for ctxlen 16\)/);
    assert.match(r.stdout, /--my_exit_tokens \d+ --magic_prime \d+ --ctx_len 16/);
    assert.match(r.stdout, /epoch_steps ≤ 30 .* a document repeats after 10 steps/);
    const bad = spawnSync(
      process.execPath,
      [bin, "make-data", input, "1", "100000", "--tokenizer", "bytes", "--out", path.join(dir, "cli2")],
      { encoding: "utf8" },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /fewer than ctx_len\+1 = 100001/);
  }),
);

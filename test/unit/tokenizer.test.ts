// World tokenizer against the real vocab's reference test vectors (docs/spec.md §5.3; RWKV_VOCAB), round trips,
// byte-level decoding and streaming; the vocab parser's traps; the byte tokenizer; vocab resolution.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REAL_VOCAB, realVocabSkip } from "../helpers/world-vocab";
import {
  ByteTokenizer,
  WorldTokenizer,
  loadTokenizer,
  parseVocab,
  resolveVocab,
  VocabError,
  type Tokenizer,
} from "../../kernel/runtime/tokenizer";

const noVocab = realVocabSkip;
let world: WorldTokenizer | undefined;
const getWorld = (): WorldTokenizer => (world ??= WorldTokenizer.load(REAL_VOCAB!));

const VECTORS: Array<[string, number[]]> = [
  ["Hello world", [33155, 40213]],
  ["User: hi\n\nAssistant:", [24281, 59, 4571, 261, 5585, 41693, 59]],
  ["\n\n", [261]],
  [" Assistant:", [58683, 59]],
  ["你好，世界", [10464, 11685, 19137, 10267, 14610]],
  ["The Eiffel tower is in the city of", [6699, 304, 25740, 109, 39990, 4600, 4596, 22590, 30449, 4706]],
  ["😀 emoji", [3319, 153, 129, 38362]],
  ["\x00\x7f\x80é", [1, 128, 2423, 2503]],
  ["1234567", [632, 654, 676, 56]],
];

test("World tokenizer: every test vector of docs/spec.md §5.3", { skip: noVocab }, () => {
  const t = getWorld();
  for (const [text, ids] of VECTORS) {
    assert.deepEqual(Array.from(t.encode(text)), ids, JSON.stringify(text));
    assert.equal(t.decode(ids), text);
  }
});

test(
  "World tokenizer: vocab facts (65529 tokens, '\\x80' is C2 80, single bytes are id b+1)",
  { skip: noVocab },
  () => {
    const t = getWorld();
    assert.equal(t.tokenCount, 65530);
    assert.equal(t.vocabSize, 65536);
    assert.deepEqual(Array.from(t.tokenBytes(2423)), [0xc2, 0x80]);
    for (const b of [0, 0x41, 0x80, 0xff]) assert.deepEqual(Array.from(t.tokenBytes(b + 1)), [b]);
    assert.throws(() => t.decode([65530]), /not in the vocab/);
  },
);

const ROUND_TRIP = [
  "中文分词测试：状态调优（state tuning）是一种高效的微调方法。",
  "日本語のテキスト、ひらがなとカタカナ、漢字も。",
  "emoji 😀👍🏽🇯🇵 family 👨‍👩‍👧 and ZWJ",
  "function f(x) {\n\treturn x.map((y) => y * 2); // code\r\n}\n",
  "mixed: naïve café — “quotes” ½ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "",
];

test("World tokenizer: round trip on Chinese, Japanese, emoji, code", { skip: noVocab }, () => {
  const t = getWorld();
  for (const s of ROUND_TRIP) assert.equal(t.decode(t.encode(s)), s);
});

test("World tokenizer: decodeBytes returns raw bytes of tokens cut mid-character", { skip: noVocab }, () => {
  const t = getWorld();
  assert.deepEqual(Array.from(t.decodeBytes([3319])), [0xf0, 0x9f]); // first half of 😀
  assert.deepEqual(Array.from(t.decodeBytes([3319, 153, 129])), [0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(t.decode([3319]), "\ufffd"); // invalid alone → replacement
  assert.equal(t.decode([0, 33155, 0]), "Hello"); // end-of-document decodes to nothing
});

function streamAll(t: Tokenizer, ids: number[]): string[] {
  const d = t.streamDecoder();
  return [...ids.map((id) => d.push(id)), d.flush()];
}

test("World tokenizer: streaming decode holds a multi-byte character split across tokens", { skip: noVocab }, () => {
  const t = getWorld();
  assert.deepEqual(streamAll(t, [3319, 153, 129, 38362]), ["", "", "😀", " emoji", ""]);
  const ids = Array.from(t.encode(ROUND_TRIP[2]));
  assert.equal(streamAll(t, ids).join(""), ROUND_TRIP[2]);
  assert.deepEqual(streamAll(t, [3319]), ["", "\ufffd"]); // an unfinished character at the end becomes U+FFFD
});

test("byte tokenizer: byte b ↔ id b+1, id 0 ends a document, vocabSize 65536", () => {
  const t = new ByteTokenizer();
  assert.equal(t.vocabSize, 65536);
  assert.deepEqual(Array.from(t.encode("Aé")), [0x42, 0xc4, 0xaa]);
  for (const s of ROUND_TRIP) assert.equal(t.decode(t.encode(s)), s);
  assert.deepEqual(Array.from(t.decodeBytes([0xf1, 0xa0, 0, 0x42])), [0xf0, 0x9f, 0x41]);
  assert.deepEqual(streamAll(t, Array.from(t.encode("é!"))), ["", "é", "!", ""]);
  assert.throws(() => t.decode([257]), /not a byte/);
});

test("vocab parser: str escapes are code points, bytes escapes are bytes; errors name the line", () => {
  const v = parseVocab(
    [
      ...Array.from({ length: 256 }, (_, b) => `${b + 1} b'\\x${b.toString(16).padStart(2, "0")}' 1`),
      `257 '\\x80' 2`,
      `258 "it's" 4`,
      `259 '\\u4f60\\n' 4`,
      `260 b'\\xe4\\xbd' 2`,
      `261 'a b' 3`,
    ].join("\n"),
    "v.txt",
  );
  const tok = (i: number): number[] => Array.from(v.bytes.subarray(v.starts[i], v.starts[i + 1]));
  assert.deepEqual(tok(257), [0xc2, 0x80]);
  assert.deepEqual(tok(258), [0x69, 0x74, 0x27, 0x73]);
  assert.deepEqual(tok(259), [0xe4, 0xbd, 0xa0, 0x0a]);
  assert.deepEqual(tok(260), [0xe4, 0xbd]);
  assert.deepEqual(tok(261), [0x61, 0x20, 0x62]);
  assert.throws(
    () => parseVocab("1 'ab' 3\n", "v.txt"),
    (e: Error) => e instanceof VocabError && /v\.txt:1: literal has 2 bytes but the line says 3/.test(e.message),
  );
  assert.throws(() => parseVocab("1 'a' 1\n3 'b' 1\n", "v.txt"), /v\.txt:2: token id 3 out of order/);
  assert.throws(() => parseVocab("1 'a\\q' 1\n", "v.txt"), /v\.txt:1: unknown escape/);
});

test("vocab resolution: explicit path, RWKV_VOCAB, beside the model; otherwise says where to get it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-vocab-"));
  const saved = process.env.RWKV_VOCAB;
  try {
    delete process.env.RWKV_VOCAB;
    const model = path.join(dir, "model.pth");
    assert.throws(
      () => resolveVocab({ modelPath: model }),
      (e: Error) =>
        e.message.includes("rwkv_vocab_v20230424.txt") &&
        e.message.includes("https://") &&
        e.message.includes(dir) &&
        e.message.includes("RWKV_VOCAB"),
    );
    assert.throws(() => resolveVocab({ vocab: path.join(dir, "nope.txt") }), /nope\.txt does not exist/);
    const beside = path.join(dir, "rwkv_vocab_v20230424.txt");
    fs.writeFileSync(beside, "");
    assert.equal(resolveVocab({ modelPath: model }), beside);
    process.env.RWKV_VOCAB = beside;
    assert.equal(resolveVocab({}), beside);
    assert.equal(loadTokenizer({ kind: "bytes" }).name, "bytes");
  } finally {
    if (saved === undefined) delete process.env.RWKV_VOCAB;
    else process.env.RWKV_VOCAB = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The World tokenizer's logic on a vocab this test writes (helpers/world-vocab.ts), so it runs
// everywhere: the file format and its escapes, greedy longest match (by hand and against a plain
// reference encoder on random text), single bytes as the fallback, characters cut across tokens,
// round trips, streaming, and the vocabs it must refuse. The real vocab's ids: tokenizer.test.ts.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { WorldTokenizer, loadTokenizer, parseVocab, buildWorldTables } from "../../kernel/runtime/tokenizer";
import { testVocabLines, vocabText, writeTestVocab } from "../helpers/world-vocab";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-world-vocab-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const { file, ids } = writeTestVocab(dir);
const t = WorldTokenizer.load(file);
const LINES = testVocabLines();
const MAX_LEN = Math.max(...LINES.map((l) => l.bytes.length));

const key = (b: ArrayLike<number>): string => Buffer.from(Array.from(b)).toString("latin1");
/** The id of the token with these bytes (a string means its UTF-8). */
function id(piece: string | number[]): number {
  const i = ids.get(key(typeof piece === "string" ? Buffer.from(piece, "utf8") : piece));
  assert.ok(i, `no token ${JSON.stringify(piece)} in the test vocab`);
  return i;
}

/** Greedy longest match the plain way: at each position, the longest token that matches there. */
function referenceEncode(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < bytes.length;) {
    for (let len = Math.min(MAX_LEN, bytes.length - p); len >= 1; len--) {
      const i = ids.get(key(bytes.subarray(p, p + len)));
      if (i !== undefined) {
        out.push(i);
        p += len;
        break;
      }
    }
  }
  return out;
}

test("every line of the file reads back as its bytes, ids in file order; ids outside are refused", () => {
  assert.equal(t.tokenCount, LINES.length + 1);
  assert.equal(t.vocabSize, 65536);
  LINES.forEach((l, i) => assert.deepEqual(Array.from(t.tokenBytes(i + 1)), l.bytes, `line ${i + 1}: ${l.literal}`));
  assert.deepEqual(Array.from(t.tokenBytes(0)), []); // end of document
  assert.throws(() => t.tokenBytes(t.tokenCount), /not in the vocab/);
  assert.throws(() => t.decode([1.5]), /not in the vocab/);
});

test("a CRLF file parses the same", () => {
  const lf = parseVocab(vocabText(LINES), "lf.txt");
  const crlf = parseVocab(vocabText(LINES).replace(/\n/g, "\r\n"), "crlf.txt");
  assert.deepEqual(crlf.starts, lf.starts);
  assert.deepEqual(crlf.bytes, lf.bytes);
});

test("greedy longest match, by hand", () => {
  const cases: Array<[string, Array<string | number[]>]> = [
    ["", []],
    ["Hello world", ["Hello", " world"]],
    ["Hell", ["Hell"]],
    ["Help", ["He", "l", "p"]], // the walk reaches "Hel" (no token) and falls back to "He"
    ["abcd", ["abc", "d"]], // greedy, although "ab" + "cd" is also a split
    ["abcdx", ["abc", "d", "x"]], // a→b→c→d is a path to "abcde", but no token ends at d
    ["abcde", ["abcde"]],
    ["abcdef", ["abcde", "f"]],
    ["\n\n\n", ["\n\n", "\n"]],
    ["\r\n", ["\r\n"]],
    ["it's", ["it's"]],
    ["a\\b", ["a\\b"]],
    ["'\"", ["'\""]],
    ["   ", ["  ", " "]],
    ["你好你", ["你好", "你"]],
    ["世界", ["世界"]],
    ["\x80é", ["\x80", "é"]],
    ["😀", ["😀"]],
    ["😎", [[0xf0, 0x9f], [0x98], [0x8e]]], // not a token: half a character, then single bytes
    ["们", [[0xe4], [0xbb], [0xac]]], // shares only its first byte with the bytes token e4 bd
  ];
  for (const [text, pieces] of cases)
    assert.deepEqual(Array.from(t.encode(text)), pieces.map(id), JSON.stringify(text));
});

test("encode equals a plain greedy longest match on random text, and decode gives the text back", () => {
  let seed = 20240424;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pieces = [
    ...LINES.filter((l) => l.bytes.length > 1 && Buffer.from(l.bytes).toString("utf8").indexOf("\ufffd") < 0).map((l) =>
      Buffer.from(l.bytes).toString("utf8"),
    ),
    "a",
    "b",
    "c",
    "d",
    "e",
    "l",
    "o",
    " ",
    "\n",
    "\r",
  ];
  const char = (): string => {
    switch (rnd(6)) {
      case 0:
        return String.fromCodePoint(0x20 + rnd(0x5f)); // ASCII
      case 1:
        return String.fromCodePoint(0x80 + rnd(0x780)); // 2-byte UTF-8
      case 2:
        return String.fromCodePoint(0x4e00 + rnd(0x100)); // CJK, 3 bytes, some sharing e4 bd
      case 3:
        return String.fromCodePoint(0x1f600 + rnd(0x50)); // emoji, 4 bytes, all starting f0 9f
      default:
        return pieces[rnd(pieces.length)];
    }
  };
  for (let n = 0; n < 400; n++) {
    let s = "";
    for (let k = rnd(30); k > 0; k--) s += char();
    const got = Array.from(t.encode(s));
    assert.deepEqual(got, referenceEncode(Buffer.from(s, "utf8")), JSON.stringify(s));
    assert.equal(t.decode(got), s);
  }
});

test("bytes that are not UTF-8 fall back to single-byte tokens and decode back to the same bytes", () => {
  const bytes = Uint8Array.from([0x41, 0xff, 0xf0, 0x9f, 0xc0, 0xe4, 0xbd, 0x41, 0x62]);
  const out = new Uint16Array(16);
  // only bytes[1..8) are encoded, written from out[3]
  const end = t.encodeBytesInto(bytes, 1, 8, out, 3);
  const want = [[0xff], [0xf0, 0x9f], [0xc0], [0xe4, 0xbd], [0x41]].map(id);
  assert.equal(end, 3 + want.length);
  assert.deepEqual(Array.from(out.subarray(3, end)), want);
  assert.deepEqual(Array.from(t.decodeBytes(want)), Array.from(bytes.subarray(1, 8)));
  assert.equal(t.decode(want), "\ufffd\ufffd\ufffd\ufffdA");
});

test("streaming decode holds a character cut across tokens until it is complete", () => {
  const stream = (list: number[]): string[] => {
    const d = t.streamDecoder();
    return [...list.map((i) => d.push(i)), d.flush()];
  };
  assert.deepEqual(stream(Array.from(t.encode("😎 Hello"))), ["", "", "😎", " ", "Hello", ""]);
  assert.deepEqual(stream([id([0xf0, 0x9f])]), ["", "\ufffd"]); // unfinished at the end → U+FFFD
  assert.equal(t.decode([0, id("Hello"), 0]), "Hello"); // end-of-document decodes to nothing
});

test("a vocab missing a single byte, or holding a token twice, is refused with the reason", () => {
  const without41 = LINES.filter((l) => !(l.bytes.length === 1 && l.bytes[0] === 0x41));
  assert.throws(
    () => buildWorldTables(parseVocab(vocabText(without41), "a.txt")),
    /no single-byte token for byte 0x41/,
  );
  const twice = [...LINES, { literal: "'abc'", bytes: [0x61, 0x62, 0x63] }];
  assert.throws(
    () => buildWorldTables(parseVocab(vocabText(twice), "b.txt")),
    new RegExp(`b\\.txt: token ${twice.length} has the same bytes as token ${id("abc")}`),
  );
});

test("loadTokenizer({ vocab }) loads the file once and encodes as WorldTokenizer.load does", () => {
  const a = loadTokenizer({ vocab: file }),
    b = loadTokenizer({ vocab: file });
  assert.equal(a, b);
  assert.deepEqual(a.encode("Hello world"), t.encode("Hello world"));
});

// World vocab files for tests. The real one (rwkv_vocab_v20230424.txt) is not ours to commit: tests that
// need its exact ids read it from RWKV_VOCAB and skip without it. The tokenizer's logic is tested
// everywhere with a small vocab written here in the same format, built to hit each case: str and bytes
// literals and their escapes, multi-byte UTF-8, greedy longest match, and single bytes as the fallback.
import * as fs from "node:fs";
import * as path from "node:path";

/** The real World vocab, when RWKV_VOCAB names it. */
export const REAL_VOCAB = process.env.RWKV_VOCAB || undefined;
export const realVocabSkip: string | false = REAL_VOCAB
  ? false
  : "needs the real World vocab, which is not in the repository: set RWKV_VOCAB=/path/to/rwkv_vocab_v20230424.txt " +
    "(world-tokenizer.test.ts checks the tokenizer's logic with a built vocab)";

/** One line of the test vocab: the literal as the file writes it, and the bytes it stands for. */
export interface VocabLine {
  literal: string;
  bytes: number[];
}

const utf8 = (s: string): number[] => Array.from(Buffer.from(s, "utf8"));

/** Multi-byte tokens; each case of the format and of the matching has a line. */
export const MULTI: VocabLine[] = [
  // greedy longest match: "Hello world" → "Hello" + " world"; "abcd" → "abc" + "d" although "ab" + "cd" exists;
  // "abcdx" walks a→b→c→d (no token ends at d) and falls back to "abc"
  ...["He", "Hell", "Hello", " wor", " world", "wo", "ab", "abc", "cd", "abcde", "  "].map((s) => ({
    literal: `'${s}'`,
    bytes: utf8(s),
  })),
  { literal: "'\\n\\n'", bytes: [10, 10] },
  { literal: "'\\r\\n'", bytes: [13, 10] },
  { literal: `"it's"`, bytes: utf8("it's") }, // a str holding ' is written in double quotes
  { literal: "'a\\\\b'", bytes: [0x61, 0x5c, 0x62] }, // a\b
  { literal: "'\\'\"'", bytes: [0x27, 0x22] }, // both quotes: the single one is escaped
  { literal: "'你好'", bytes: utf8("你好") }, // printable non-ASCII is written raw
  { literal: "'你'", bytes: utf8("你") },
  { literal: "'\\u4e16\\u754c'", bytes: utf8("世界") }, // \u escapes are code points
  { literal: "'\\x80'", bytes: [0xc2, 0x80] }, // in a str, \x80 is U+0080 (two UTF-8 bytes), not a byte
  { literal: "'é'", bytes: [0xc3, 0xa9] },
  { literal: "'\\U0001f600'", bytes: utf8("😀") },
  { literal: "b'\\xf0\\x9f'", bytes: [0xf0, 0x9f] }, // half a 4-byte character: a bytes literal
  { literal: "b'\\xe4\\xbd'", bytes: [0xe4, 0xbd] }, // two thirds of 你
];

/** A single byte as the World vocab writes it: a str literal when it is valid UTF-8 alone, else bytes. */
function byteLiteral(b: number): string {
  if (b >= 0x80) return `b'\\x${b.toString(16).padStart(2, "0")}'`;
  const named: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x5c: "\\\\" };
  if (b === 0x27) return `"'"`;
  if (named[b]) return `'${named[b]}'`;
  if (b < 0x20 || b === 0x7f) return `'\\x${b.toString(16).padStart(2, "0")}'`;
  return `'${String.fromCharCode(b)}'`;
}

/** Every line in id order (id = index + 1): some multi-byte tokens, then all 256 bytes (in reverse, so no
 * code can lean on the real file's "byte b is id b+1"), then the rest of the multi-byte tokens. */
export function testVocabLines(): VocabLine[] {
  const singles = Array.from({ length: 256 }, (_, i) => 255 - i).map((b) => ({ literal: byteLiteral(b), bytes: [b] }));
  return [...MULTI.slice(0, 5), ...singles, ...MULTI.slice(5)];
}

export function vocabText(lines: VocabLine[]): string {
  return lines.map((l, i) => `${i + 1} ${l.literal} ${l.bytes.length}\n`).join("");
}

/** Writes the test vocab into dir; returns its path and each token's id by its bytes (latin1 key). */
export function writeTestVocab(dir: string): { file: string; ids: Map<string, number> } {
  const lines = testVocabLines();
  const file = path.join(dir, "test-vocab.txt");
  fs.writeFileSync(file, vocabText(lines));
  return { file, ids: new Map(lines.map((l, i) => [Buffer.from(l.bytes).toString("latin1"), i + 1])) };
}

// Streaming jsonl: the file is read in chunks cut at line ends (never loaded whole), and each
// line is checked with errors that name the file, line number and a snippet (or byte offset
// for invalid UTF-8). make-data hands the chunks to tokenizer workers; readJsonl is the simple form.
import * as fs from "node:fs";
import { isUtf8 } from "node:buffer";
import { throwIfAborted } from "../cancel";
import { DataError } from "../errors";

/** A run of whole lines: bytes[0..] starts at `byteOffset` in the file. */
export interface LineChunk {
  bytes: Uint8Array;
  byteOffset: number;
}

const NL = 0x0a;

/**
 * Whole-line chunks of about `chunkBytes` (longer when a single line is longer); a UTF-8 BOM is
 * dropped. Each chunk views one reused buffer: it is valid until the next iteration (reuse keeps
 * RSS flat; fresh buffers per chunk pile up between GCs).
 */
export async function* readLineChunks(
  file: string,
  chunkBytes = 1 << 20,
  signal?: AbortSignal,
): AsyncGenerator<LineChunk> {
  const fh = await fs.promises.open(file, "r");
  try {
    let buf = new Uint8Array(chunkBytes);
    let have = 0; // bytes in buf; buf[0] is at file offset bufOffset
    let bufOffset = 0;
    let first = true;
    for (;;) {
      throwIfAborted(signal);
      if (have === buf.length) {
        const next = new Uint8Array(buf.length * 2);
        next.set(buf);
        buf = next;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, bufOffset + have);
      have += bytesRead;
      if (first && have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        buf.copyWithin(0, 3, have);
        have -= 3;
        bufOffset = 3;
      }
      if (have >= 3 || bytesRead === 0) first = false;
      if (bytesRead === 0) {
        if (have > 0) yield { bytes: buf.subarray(0, have), byteOffset: bufOffset };
        return;
      }
      const lastNl = buf.lastIndexOf(NL, have - 1);
      if (lastNl < 0) continue; // a line longer than the buffer: read on (the buffer grows)
      yield { bytes: buf.subarray(0, lastNl + 1), byteOffset: bufOffset };
      buf.copyWithin(0, lastNl + 1, have);
      bufOffset += lastNl + 1;
      have -= lastNl + 1;
    }
  } finally {
    await fh.close();
  }
}

/** Index of the first byte that is not part of valid UTF-8 in bytes[start, end), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (isUtf8(bytes.subarray(start, end))) return -1;
  // Slow path, only on error: the decoder tells validity, not where; find the shortest bad prefix.
  let lo = start,
    hi = end; // invariant: [start, lo) decodes (up to a cut char), [start, hi) does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    // stream mode: a prefix that ends inside a character is still fine
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid;
    }
  }
  // The decoder fails at byte p = hi-1: report the start of the sequence p cut short, if any.
  const p = hi - 1;
  let k = p - 1;
  while (k >= start && p - 1 - k < 3 && (bytes[k] & 0xc0) === 0x80) k--;
  const need = k >= start ? (bytes[k] >= 0xf0 ? 4 : bytes[k] >= 0xe0 ? 3 : bytes[k] >= 0xc2 ? 2 : 1) : 1;
  return need > p - k ? k : p;
}

const snippet = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** Throws what is wrong with line `lineNo`: a DataError naming the file, line, reason and a snippet. */
export type LineFailure = (reason: string, detail: string) => never;
export function lineFailure(line: string, lineNo: number, file: string): LineFailure {
  return (reason, detail) => {
    throw new DataError(`${file} line ${lineNo}: ${detail}: ${snippet(line)}`, { file, line: lineNo, reason });
  };
}

/** The JSON value of a line, or undefined for a blank line; a line that is not JSON fails. */
export function parseJsonLine(line: string, fail: LineFailure): unknown {
  if (line.trim() === "") return undefined;
  try {
    return JSON.parse(line);
  } catch (e) {
    return fail("not-json", `not JSON (${(e as Error).message})`);
  }
}

/**
 * The `text` of one jsonl line (make_data.py semantics), or null for a blank line.
 * Throws a DataError (with line and reason) for a line that is not JSON, has no `text`, or a non-string `text`.
 */
export function parseTextLine(line: string, lineNo: number, file: string): string | null {
  const fail = lineFailure(line, lineNo, file);
  const value = parseJsonLine(line, fail);
  if (value === undefined) return null;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("not-object", "not a JSON object");
  if (!("text" in value)) return fail("no-text", `no "text" field`);
  const text = (value as { text: unknown }).text;
  if (typeof text !== "string")
    return fail("text-not-string", `"text" is ${text === null ? "null" : typeof text}, not a string`);
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed())
    return fail("lone-surrogate", `"text" holds an unpaired surrogate escape (not valid Unicode)`);
  return text;
}

/** Decodes line [start, end) of a chunk, with the invalid-UTF-8 error naming the file byte offset. */
export function decodeLine(chunk: LineChunk, start: number, end: number, lineNo: number, file: string): string {
  const bad = firstInvalidUtf8(chunk.bytes, start, end);
  if (bad >= 0)
    throw new DataError(`${file} line ${lineNo}: invalid UTF-8 at byte offset ${chunk.byteOffset + bad} of the file`, {
      file,
      line: lineNo,
      reason: "invalid-utf8",
    });
  return Buffer.from(chunk.bytes.buffer, chunk.bytes.byteOffset + start, end - start).toString("utf8");
}

/** Calls fn(start, end) for each line of a chunk (end excludes "\n" and a trailing "\r"). */
export function forEachLine(bytes: Uint8Array, fn: (start: number, end: number) => void): number {
  let n = 0;
  for (let s = 0; s < bytes.length; n++) {
    let e = bytes.indexOf(NL, s);
    const next = e < 0 ? bytes.length : e + 1;
    if (e < 0) e = bytes.length;
    fn(s, e > s && bytes[e - 1] === 0x0d ? e - 1 : e);
    s = next;
  }
  return n;
}

/** Number of lines in a chunk of whole lines (the last may lack its "\n"). */
export function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(NL); i >= 0; i = bytes.indexOf(NL, i + 1)) n++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== NL ? n + 1 : n;
}

/** The texts of a jsonl file with their line numbers (blank lines skipped). */
export async function* readJsonlTexts(
  file: string,
  signal?: AbortSignal,
): AsyncGenerator<{ line: number; text: string }> {
  let lineNo = 0;
  for await (const chunk of readLineChunks(file, 1 << 20, signal)) {
    const out: Array<{ line: number; text: string }> = [];
    forEachLine(chunk.bytes, (s, e) => {
      lineNo++;
      const text = parseTextLine(decodeLine(chunk, s, e, lineNo, file), lineNo, file);
      if (text !== null) out.push({ line: lineNo, text });
    });
    yield* out;
  }
}

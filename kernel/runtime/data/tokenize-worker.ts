// worker_threads body for make-data: takes whole-line chunks of a jsonl file, returns each
// document's tokens (uint16, token 0 appended) and sizes, or the first bad line; chat lines also
// give each token's loss-mask byte. The World tables arrive as shared memory, so workers start
// without re-reading the vocab.
import { parentPort, workerData } from "node:worker_threads";
import { ByteTokenizer } from "../tokenizer/bytes";
import { WorldTokenizer } from "../tokenizer/world";
import { END_OF_DOC } from "../tokenizer/types";
import { DataError } from "../errors";
import { parseChatLine, type Segment } from "./chat";
import { decodeLine, forEachLine, parseTextLine } from "./jsonl";
import type { BadLine, ChunkJob, ChunkResult, WorkerInit } from "./tokenize-pool";

const init = workerData as WorkerInit;
const tokenizer = init.tokenizer.kind === "world" ? new WorldTokenizer(init.tokenizer.tables) : new ByteTokenizer();
const encoder = new TextEncoder();
let scratch = new Uint8Array(1 << 16);

/** The pieces of one line's document (a text line is one counted piece), or null for a blank line. */
function lineSegments(line: string, lineNo: number): Segment[] | null {
  if (init.format === "chat") return parseChatLine(line, lineNo, init.file, init.fields);
  const text = parseTextLine(line, lineNo, init.file);
  return text === null ? null : [{ text, counted: true }];
}

function tokenizeChunk({ id, chunk, firstLine, output: tokens, mask }: ChunkJob): ChunkResult {
  // Text bytes never exceed the JSON line's bytes, and a document has at most one token per
  // text byte plus its end token, so chunk length + 1 bounds the output of text lines. The chat
  // template adds at most 21 bytes ("User: …\n\nAssistant: …\n\n") per turn whose JSON takes at
  // least 15 ({"q":"","r":""}), so twice that bounds chat output.
  const sizes: number[] = [];
  const skipped: BadLine[] = [];
  let out = 0;
  let error: BadLine | undefined;
  let lineNo = firstLine - 1;
  const lines = forEachLine(chunk.bytes, (s, e) => {
    lineNo++;
    if (error) return;
    let segments: Segment[] | null;
    try {
      segments = lineSegments(decodeLine(chunk, s, e, lineNo, init.file), lineNo);
    } catch (err) {
      if (!(err instanceof DataError) || err.reason === undefined) throw err;
      const bad: BadLine = { line: lineNo, reason: err.reason, message: err.message };
      if (init.skipBad && err.reason !== "invalid-utf8") skipped.push(bad);
      else error = bad;
      return;
    }
    if (segments === null) return;
    const start = out;
    for (const { text, counted } of segments) {
      if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
      const { written } = encoder.encodeInto(text, scratch);
      const from = out;
      out = tokenizer.encodeBytesInto(scratch, 0, written, tokens, out);
      mask?.fill(counted ? 1 : 0, from, out);
    }
    // The end of a document counts where all of it does (a text line, as make_data.py).
    if (mask) mask[out] = segments.every((x) => x.counted) ? 1 : 0;
    tokens[out++] = END_OF_DOC;
    sizes.push(out - start);
  });
  return { id, lines, tokens: out, sizes: Int32Array.from(sizes), skipped, error };
}

parentPort!.on("message", (job: ChunkJob) => {
  const r = tokenizeChunk(job);
  parentPort!.postMessage(r, [r.sizes.buffer as ArrayBuffer]);
});

// worker_threads body for make-data: takes whole-line chunks of a jsonl file, returns each
// document's tokens (uint16, token 0 appended) and sizes, or the first bad line. The World
// tables arrive as shared memory, so workers start without re-reading the vocab.
import { parentPort, workerData } from "node:worker_threads";
import { ByteTokenizer } from "../tokenizer/bytes";
import { WorldTokenizer } from "../tokenizer/world";
import { END_OF_DOC } from "../tokenizer/types";
import { DataError } from "../errors";
import { decodeLine, forEachLine, parseTextLine } from "./jsonl";
import type { BadLine, ChunkJob, ChunkResult, WorkerInit } from "./tokenize-pool";

const init = workerData as WorkerInit;
const tokenizer = init.tokenizer.kind === "world" ? new WorldTokenizer(init.tokenizer.tables) : new ByteTokenizer();
const encoder = new TextEncoder();
let scratch = new Uint8Array(1 << 16);

function tokenizeChunk({ id, chunk, firstLine, output: tokens }: ChunkJob): ChunkResult {
  // Text bytes never exceed the JSON line's bytes, and a document has at most one token per
  // text byte plus its end token, so chunk length + 1 bounds the output.
  const sizes: number[] = [];
  const skipped: BadLine[] = [];
  let out = 0;
  let error: BadLine | undefined;
  let lineNo = firstLine - 1;
  const lines = forEachLine(chunk.bytes, (s, e) => {
    lineNo++;
    if (error) return;
    let text: string | null;
    try {
      text = parseTextLine(decodeLine(chunk, s, e, lineNo, init.file), lineNo, init.file);
    } catch (err) {
      if (!(err instanceof DataError) || err.reason === undefined) throw err;
      const bad: BadLine = { line: lineNo, reason: err.reason, message: err.message };
      if (init.skipBad && err.reason !== "invalid-utf8") skipped.push(bad);
      else error = bad;
      return;
    }
    if (text === null) return;
    if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
    const { written } = encoder.encodeInto(text, scratch);
    const start = out;
    out = tokenizer.encodeBytesInto(scratch, 0, written, tokens, out);
    tokens[out++] = END_OF_DOC;
    sizes.push(out - start);
  });
  return { id, lines, tokens: out, sizes: Int32Array.from(sizes), skipped, error };
}

parentPort!.on("message", (job: ChunkJob) => {
  const r = tokenizeChunk(job);
  parentPort!.postMessage(r, [r.sizes.buffer as ArrayBuffer]);
});

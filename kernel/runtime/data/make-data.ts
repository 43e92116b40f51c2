// jsonl → binidx with make_data.py's semantics (docs/spec.md §5.2): the `text` of each non-blank line,
// tokenized, token 0 appended, the document list repeated `repeat` times with a fresh (seeded)
// shuffle per copy, one item per document, uint16. The chat format (§5.4) also takes prompt/response
// and `messages` lines, rendered with the World chat template, and writes a loss mask beside them.
// Memory stays flat for any input size: pass 1 streams the file through tokenizer workers into
// a temporary token file (only per-document sizes stay in RAM); pass 2 writes the shuffled
// copies by reading document slices back (and the mask bytes in the same order). Outputs appear
// only by rename at the very end, all together.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { resolveSignal, throwIfAborted } from "../cancel";
import { defaultTokenizer, loadTokenizer, type TokenizerOptions } from "../tokenizer";
import type { Tokenizer } from "../tokenizer/types";
import { checkOptions, is, type Spec } from "../check";
import { checkWritableFolder, commitAll, createFolderOf, PendingFile, readFully, removeQuietly } from "../files";
import { GrowableArray } from "../growable";
import { dtypeSize, idxHeader } from "./binidx";
import { DEFAULT_CHAT_FIELDS, type ChatFields, type DataFormat } from "./chat";
import { MaskBitPacker, maskFileOf, maskHeader, MASK_HEADER_BYTES } from "./loss-mask";
import { countLines, readLineChunks } from "./jsonl";
import { magicPrime } from "./magic-prime";
import { PhaseClock, type DataProgress } from "./progress";
import { seededPermutation } from "./random";
import { TokenizePool, workerSpec, type BadLine, type ChunkResult } from "./tokenize-pool";
import { DataError } from "../errors";

export interface MakeDataOptions {
  input: string;
  /** Copies of the data, each shuffled (make_data.py's N_EPOCH). */
  repeat: number;
  /** Only for the magic prime and the minimum-size check. */
  ctxLen: number;
  /**
   * Output prefix (writes prefix.bin, prefix.idx; a missing folder is created); default: the
   * input's base name in the cwd, as make_data.py.
   */
  out?: string;
  /**
   * A loaded tokenizer (e.g. `model.tokenizer`) or how to load one (see loadTokenizer: with
   * `modelPath`, the model's own tokenizer, its World vocab found beside it). Default: the loaded
   * model's tokenizer (see loadedModelTokenizer), World when no model is loaded.
   */
  tokenizer?: Tokenizer | TokenizerOptions;
  seed?: number;
  /**
   * "text" (default): make_data.py's `text` lines, output byte for byte as it writes them. "chat":
   * `text`, prompt/response and `messages` lines in the World chat template, plus `<prefix>.mask`
   * (docs/spec.md §5.4) marking the tokens of the assistant's answers.
   */
  format?: DataFormat;
  /** chat: the prompt and response field names (PEFT's --sft_field; default ["query", "response"]). */
  fields?: ChatFields;
  /** Skip (and count) lines that are not JSON or lack a string `text`, instead of stopping. */
  skipBad?: boolean;
  workers?: number;
  chunkBytes?: number;
  onProgress?: (p: DataProgress) => void;
  /** Stops cleanly: temporary files removed, previous outputs untouched. */
  signal?: AbortSignal;
}

export interface MakeDataResult {
  input: string;
  binFile: string;
  idxFile: string;
  /** chat format: the loss-mask sidecar; null for text (a stale one at that prefix is removed). */
  maskFile: string | null;
  format: DataFormat;
  dtype: "uint16";
  inputBytes: number;
  lines: number;
  /** Documents in one copy of the data. */
  documents: number;
  repeat: number;
  /** Items written (documents × repeat). */
  items: number;
  tokensPerCopy: number;
  /** Tokens in the .bin (data_size). */
  tokens: number;
  /** Of those, tokens whose prediction counts under the loss mask (all of them for text). */
  countedTokens: number;
  skipped: number;
  /** The first skipped lines (up to 20), with their reasons. */
  skippedLines: BadLine[];
  ctxLen: number;
  magicPrime: number | null;
  seconds: number;
  tokenizeMBps: number;
}

const OUT_DTYPE = "uint16" as const;
const KEEP_SKIPPED = 20;

const SPEC: Spec = {
  input: is.string,
  repeat: is.int(1),
  ctxLen: is.int(1),
  out: is.string,
  tokenizer: is.recordOf(() => undefined, "tokenizer options, or a Tokenizer"),
  seed: is.int(),
  format: is.oneOf("text", "chat"),
  fields: (v) =>
    Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "string" && x !== "") && v[0] !== v[1]
      ? undefined
      : "must be two different field names, [prompt, response]",
  skipBad: is.boolean,
  workers: is.int(1, 1024),
  chunkBytes: is.int(1),
  onProgress: is.function,
  signal: is.signal,
};

export async function makeData(opts: MakeDataOptions): Promise<MakeDataResult> {
  checkOptions("makeData", opts, SPEC, ["input", "repeat", "ctxLen"]);
  opts = { ...opts, signal: resolveSignal(opts.signal) };
  const { input, repeat, ctxLen } = opts;
  const seed = opts.seed ?? 0;
  let inputBytes: number;
  try {
    const st = fs.statSync(input);
    if (!st.isFile()) throw new Error("not a file");
    inputBytes = st.size;
  } catch (e) {
    throw new DataError(`cannot read input ${input}: ${(e as Error).message}`, { file: input });
  }
  if (inputBytes === 0) throw new DataError(`${input} is empty: no documents to write`, { file: input });

  const prefix = path.resolve(opts.out ?? path.basename(input).replace(/\.[^.]*$/, ""));
  const binFile = `${prefix}.bin`,
    idxFile = `${prefix}.idx`,
    maskFile = maskFileOf(prefix);
  const chat = opts.format === "chat";
  createFolderOf(binFile);
  checkWritableFolder(binFile);
  const tokenizer = !opts.tokenizer
    ? defaultTokenizer("makeData")
    : "encode" in opts.tokenizer
      ? opts.tokenizer
      : loadTokenizer(opts.tokenizer);

  // the token and mask-byte files are scratch space: never committed
  const scratch = new PendingFile(`${prefix}.tokens`),
    scratchMask = new PendingFile(`${prefix}.maskbytes`),
    bin = new PendingFile(binFile),
    idx = new PendingFile(idxFile),
    mask = new PendingFile(maskFile);
  const t0 = performance.now();
  try {
    const pass1 = await tokenizeToFile(opts, tokenizer, scratch.tmp, chat ? scratchMask.tmp : null, inputBytes);
    const documents = pass1.sizes.length;
    if (documents === 0) {
      const bad = pass1.skipped > 0 ? ` or skipped as bad: ${pass1.skipped}` : "";
      throw new DataError(`${input}: no documents (${pass1.lines} lines, all blank${bad})`, { file: input });
    }
    const tokens = pass1.tokens * repeat;
    if (tokens < ctxLen + 1) {
      throw new DataError(
        `${input}: the data holds ${tokens} tokens ` +
          `(${documents} documents, ${pass1.tokens} tokens × repeat ${repeat}), ` +
          `fewer than ctx_len+1 = ${ctxLen + 1}: add data, raise repeat or lower ctx_len`,
        { file: input },
      );
    }
    const masks = chat ? { from: scratchMask.tmp, to: mask.tmp } : null;
    await writeShuffledBin(opts, pass1, scratch.tmp, bin.tmp, masks, seed);
    const idxCrc32 = await writeIdx(pass1.sizes, repeat, seed, idx.tmp, opts.signal);
    if (masks) await finishMaskHeader(mask.tmp, { tokens, items: documents * repeat, idxCrc32 });
    throwIfAborted(opts.signal);
    commitAll(chat ? [bin, idx, mask] : [bin, idx]);
    // a mask left from earlier chat data at this prefix no longer fits it
    if (!chat) removeQuietly(maskFile);
    return {
      input,
      binFile,
      idxFile,
      maskFile: chat ? maskFile : null,
      format: chat ? "chat" : "text",
      dtype: OUT_DTYPE,
      inputBytes,
      lines: pass1.lines,
      documents,
      repeat,
      items: documents * repeat,
      tokensPerCopy: pass1.tokens,
      tokens,
      countedTokens: pass1.counted * repeat,
      skipped: pass1.skipped,
      skippedLines: pass1.skippedLines,
      ctxLen,
      magicPrime: magicPrime(tokens, ctxLen),
      seconds: (performance.now() - t0) / 1000,
      tokenizeMBps: pass1.mbPerSec,
    };
  } finally {
    for (const f of [scratch, scratchMask, bin, idx, mask]) f.discard();
  }
}

interface Pass1 {
  sizes: Int32Array;
  tokens: number;
  /** Tokens whose mask byte is 1 (all of them without a mask). */
  counted: number;
  lines: number;
  skipped: number;
  skippedLines: BadLine[];
  mbPerSec: number;
}

/**
 * Pass 1: tokenizes the input in whole-line chunks on all cores; documents go to `tmpTokens` in
 * input order, and with `tmpMask` (chat) each token's mask byte to it.
 */
async function tokenizeToFile(
  opts: MakeDataOptions,
  tokenizer: Tokenizer,
  tmpTokens: string,
  tmpMask: string | null,
  inputBytes: number,
): Promise<Pass1> {
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  // no more workers than chunks: small notebook inputs should not pay for idle worker start-ups
  const workers = opts.workers ?? Math.min(os.availableParallelism(), Math.ceil(inputBytes / chunkBytes));
  const pool = new TokenizePool(
    {
      tokenizer: workerSpec(tokenizer),
      file: opts.input,
      skipBad: opts.skipBad ?? false,
      format: opts.format ?? "text",
      fields: opts.fields ?? DEFAULT_CHAT_FIELDS,
    },
    workers,
  );
  const fd = fs.openSync(tmpTokens, "w");
  const maskFd = tmpMask === null ? null : fs.openSync(tmpMask, "w");
  const sizes = new GrowableArray((n) => new Int32Array(n));
  const clock = new PhaseClock();
  let lines = 0,
    tokens = 0,
    counted = 0,
    skipped = 0,
    bytesDone = 0;
  const skippedLines: BadLine[] = [];
  // In-flight chunks each own a slot of shared input/output buffers, reused in turn.
  const free: SharedSlot[] = Array.from({ length: 2 * pool.size }, () => new SharedSlot(maskFd !== null));
  const queue: Array<{ result: Promise<ChunkResult>; endByte: number; slot: SharedSlot }> = [];
  const consume = async (): Promise<void> => {
    const { result, endByte, slot } = queue.shift()!;
    const r = await result;
    if (r.error) throw new DataError(r.error.message, { file: opts.input, line: r.error.line, reason: r.error.reason });
    skipped += r.skipped.length;
    for (const b of r.skipped) if (skippedLines.length < KEEP_SKIPPED) skippedLines.push(b);
    fs.writeSync(fd, new Uint8Array(slot.output.buffer, 0, r.tokens * 2));
    if (maskFd !== null) {
      const m = slot.mask!.subarray(0, r.tokens);
      fs.writeSync(maskFd, m);
      for (let i = 0; i < m.length; i++) counted += m[i];
    } else counted += r.tokens;
    free.push(slot);
    sizes.push(r.sizes);
    tokens += r.tokens;
    lines += r.lines;
    bytesDone = endByte;
    opts.onProgress?.(clock.event("tokenize", bytesDone, inputBytes, bytesDone, { lines, docs: sizes.length, tokens }));
  };
  try {
    let id = 0,
      nextLine = 1;
    for await (const chunk of readLineChunks(opts.input, chunkBytes, opts.signal)) {
      if (free.length === 0) await consume();
      const slot = free.pop()!;
      const firstLine = nextLine;
      nextLine += countLines(chunk.bytes);
      const job = {
        id: id++,
        chunk: { bytes: slot.load(chunk.bytes), byteOffset: chunk.byteOffset },
        firstLine,
        output: slot.output,
        mask: slot.mask,
      };
      const result = pool.run(job);
      result.catch(() => undefined); // rejections are seen when consumed; silence those never reached
      queue.push({ result, endByte: chunk.byteOffset + chunk.bytes.length, slot });
    }
    while (queue.length > 0) await consume();
  } finally {
    fs.closeSync(fd);
    if (maskFd !== null) fs.closeSync(maskFd);
    await pool.close();
  }
  return {
    sizes: sizes.toArray(),
    tokens,
    counted,
    lines,
    skipped,
    skippedLines,
    mbPerSec: bytesDone / 1e6 / Math.max(1e-9, clock.elapsed()),
  };
}

/** Input bytes and output tokens (and mask bytes) of one in-flight chunk, shared with the worker that takes it. */
class SharedSlot {
  input = new Uint8Array(new SharedArrayBuffer(1));
  output = new Uint16Array(new SharedArrayBuffer(2));
  mask: Uint8Array | null;
  constructor(private readonly withMask: boolean) {
    this.mask = withMask ? new Uint8Array(new SharedArrayBuffer(1)) : null;
  }
  /** Copies a chunk in (growing the buffers as needed) and returns its view in shared memory. */
  load(bytes: Uint8Array): Uint8Array {
    if (this.input.length < bytes.length) {
      // tokens per chunk: at most bytes + 1 for text lines, 2·(bytes + 1) for chat (tokenize-worker.ts)
      const room = (this.withMask ? 2 : 1) * (bytes.length + 1);
      this.input = new Uint8Array(new SharedArrayBuffer(bytes.length));
      this.output = new Uint16Array(new SharedArrayBuffer(2 * room));
      if (this.withMask) this.mask = new Uint8Array(new SharedArrayBuffer(room));
    }
    this.input.set(bytes);
    return this.input.subarray(0, bytes.length);
  }
}

/**
 * Pass 2: `repeat` copies of the documents, each in its own seeded order, read back from `tmpTokens`;
 * with `masks`, each token's mask byte from masks.from, packed into masks.to after room for its header.
 */
async function writeShuffledBin(
  opts: MakeDataOptions,
  pass1: Pass1,
  tmpTokens: string,
  tmpBin: string,
  masks: { from: string; to: string } | null,
  seed: number,
): Promise<void> {
  const { sizes } = pass1;
  const starts = new Float64Array(sizes.length);
  for (let i = 1; i < sizes.length; i++) starts[i] = starts[i - 1] + sizes[i - 1];
  const source = new ScratchSource(tmpTokens, pass1.tokens * 2);
  const maskSource = masks && new ScratchSource(masks.from, pass1.tokens);
  const out = await fs.promises.open(tmpBin, "w");
  const maskOut = masks && (await fs.promises.open(masks.to, "w"));
  const buf = new Uint16Array(1 << 21);
  const maskBuf = new Uint8Array(masks ? buf.length : 0);
  let maskAt = MASK_HEADER_BYTES; // the header is written last, when the .idx's CRC is known
  const packer = new MaskBitPacker(async (b) => {
    await maskOut!.write(b, 0, b.length, maskAt);
    maskAt += b.length;
  });
  const total = pass1.tokens * opts.repeat;
  const clock = new PhaseClock();
  let fill = 0,
    written = 0;
  const flush = async (): Promise<void> => {
    throwIfAborted(opts.signal);
    await out.write(new Uint8Array(buf.buffer, 0, fill * 2));
    if (masks) await packer.push(maskBuf.subarray(0, fill));
    written += fill;
    fill = 0;
    opts.onProgress?.(
      clock.event("write", written, total, written * 2, { lines: pass1.lines, docs: sizes.length, tokens: written }),
    );
  };
  try {
    for (let r = 0; r < opts.repeat; r++) {
      const perm = seededPermutation(sizes.length, seed, r);
      for (let k = 0; k < perm.length; k++) {
        const d = perm[k];
        let at = starts[d],
          left = sizes[d];
        while (left > 0) {
          if (fill === buf.length) await flush();
          const n = Math.min(left, buf.length - fill);
          source.read(new Uint8Array(buf.buffer, fill * 2, n * 2), at * 2);
          maskSource?.read(maskBuf.subarray(fill, fill + n), at);
          fill += n;
          at += n;
          left -= n;
        }
      }
    }
    await flush();
    await packer.end();
  } finally {
    await out.close();
    await maskOut?.close();
    source.close();
    maskSource?.close();
  }
}

/** Writes the mask file's header once the .idx it belongs to is complete. */
async function finishMaskHeader(file: string, binding: Parameters<typeof maskHeader>[0]): Promise<void> {
  const fh = await fs.promises.open(file, "r+");
  try {
    await fh.write(maskHeader(binding), 0, MASK_HEADER_BYTES, 0);
  } finally {
    await fh.close();
  }
}

/** Reads byte ranges of a scratch file of pass 1: from memory when small, else positional reads. */
class ScratchSource {
  private static readonly IN_MEMORY_BYTES = 32 << 20;
  private readonly all: Buffer | null = null;
  private readonly fd: number | null = null;
  constructor(file: string, bytes: number) {
    if (bytes <= ScratchSource.IN_MEMORY_BYTES) this.all = fs.readFileSync(file);
    else this.fd = fs.openSync(file, "r");
  }
  read(into: Uint8Array, byteOffset: number): void {
    if (this.all) {
      into.set(this.all.subarray(byteOffset, byteOffset + into.length));
      return;
    }
    readFully(this.fd!, into, byteOffset, () => new Error("temporary scratch file ended early"));
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
  }
}

/**
 * The `.idx` for `repeat` shuffled copies (same permutations as the .bin), streamed in sections;
 * returns its CRC-32 (the loss mask's tie to it).
 */
async function writeIdx(
  sizes: Int32Array,
  repeat: number,
  seed: number,
  tmpIdx: string,
  signal?: AbortSignal,
): Promise<number> {
  const items = sizes.length * repeat;
  const out = await fs.promises.open(tmpIdx, "w");
  const itemBytes = dtypeSize(OUT_DTYPE);
  const chunk = new Uint32Array(1 << 18);
  let fill = 0;
  let crc = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    await out.write(bytes);
    crc = zlib.crc32(bytes, crc);
  };
  const flush = async (): Promise<void> => {
    throwIfAborted(signal);
    await write(new Uint8Array(chunk.buffer, 0, fill * 4));
    fill = 0;
  };
  // int64 little-endian as two uint32 words (values stay below 2^53); the caller makes room
  const put64 = (v: number): void => {
    chunk[fill++] = v % 2 ** 32;
    chunk[fill++] = Math.floor(v / 2 ** 32);
  };
  try {
    await write(idxHeader(OUT_DTYPE, items, items + 1));
    for (let r = 0; r < repeat; r++) {
      const perm = seededPermutation(sizes.length, seed, r);
      for (let k = 0; k < perm.length; k++) {
        if (fill === chunk.length) await flush();
        chunk[fill++] = sizes[perm[k]];
      }
    }
    let ptr = 0;
    for (let r = 0; r < repeat; r++) {
      const perm = seededPermutation(sizes.length, seed, r);
      for (let k = 0; k < perm.length; k++) {
        if (fill + 2 > chunk.length) await flush();
        put64(ptr);
        ptr += sizes[perm[k]] * itemBytes;
      }
    }
    for (let i = 0; i <= items; i++) {
      if (fill + 2 > chunk.length) await flush();
      put64(i);
    }
    await flush();
  } finally {
    await out.close();
  }
  return crc >>> 0;
}

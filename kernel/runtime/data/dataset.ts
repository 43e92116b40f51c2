// The token-data contract samplers work on, and the in-memory implementation for small
// notebook data (`Dataset.fromTexts`). BinIdxDataset (binidx.ts) is the file-backed one.
import { defaultTokenizer } from "../tokenizer";
import type { Tokenizer } from "../tokenizer/types";
import { END_OF_DOC } from "../tokenizer/types";
import { chatSegments, DEFAULT_CHAT_FIELDS, parseChatLine, type ChatFields } from "./chat";
import { lineFailure } from "./jsonl";

/**
 * Documents laid end to end in one flat token stream (binidx items: make_data.py and
 * json2binidx write one item per document, ending in token 0).
 */
export interface TokenDataset {
  readonly docCount: number;
  /** Tokens in the flat stream (LM/PEFT `data_size`). */
  readonly tokenCount: number;
  docSize(i: number): number;
  /** Token offset of document i in the flat stream. */
  docStart(i: number): number;
  doc(i: number): Int32Array;
  /** Tokens [offset, offset+length) of the flat stream, crossing documents. */
  slice(offset: number, length: number): Int32Array;
  /**
   * Data with a loss mask (chat data, docs/spec.md §5.4): mask bytes of tokens [offset, offset+length),
   * 1 where predicting the token counts in the loss (the assistant's answers), 0 where it does not.
   */
  maskSlice?(offset: number, length: number): Uint8Array;
}

export class Dataset implements TokenDataset {
  readonly maskSlice?: (offset: number, length: number) => Uint8Array;
  private constructor(
    private readonly tokens: Int32Array,
    private readonly starts: Float64Array,
    mask: Uint8Array | undefined,
  ) {
    if (mask)
      this.maskSlice = (offset, length) => {
        checkSlice(this, offset, length);
        return mask.slice(offset, offset + length);
      };
  }

  /**
   * Tokenizes each text and appends token 0, as make_data.py does. Default tokenizer: the loaded
   * model's (see loadedModelTokenizer), World when no model is loaded.
   */
  static fromTexts(texts: Iterable<string>, tokenizer: Tokenizer = defaultTokenizer("Dataset.fromTexts")): Dataset {
    return Dataset.fromDocs(
      Array.from(texts, (t) => {
        const ids = tokenizer.encode(t);
        const doc = new Int32Array(ids.length + 1);
        doc.set(ids);
        doc[ids.length] = END_OF_DOC;
        return doc;
      }),
    );
  }

  /**
   * Chat lines (objects or jsonl strings in any form of docs/spec.md §5.4) rendered with the World chat
   * template, each piece tokenized on its own, token 0 appended, with the loss mask of the answers.
   */
  static fromChat(lines: Iterable<string | object>, tokenizer: Tokenizer, opts: { fields?: ChatFields } = {}): Dataset {
    const docs: Int32Array[] = [],
      masks: Uint8Array[] = [];
    let n = 0;
    for (const line of lines) {
      n++;
      const segments =
        typeof line === "string"
          ? parseChatLine(line, n, "Dataset.fromChat", opts.fields ?? DEFAULT_CHAT_FIELDS)
          : chatSegments(
              line,
              opts.fields ?? DEFAULT_CHAT_FIELDS,
              lineFailure(JSON.stringify(line), n, "Dataset.fromChat"),
            );
      if (!segments) continue;
      const pieces = segments.map((s) => ({ ids: tokenizer.encode(s.text), counted: s.counted }));
      const size = pieces.reduce((a, p) => a + p.ids.length, 0) + 1;
      const doc = new Int32Array(size),
        mask = new Uint8Array(size);
      let at = 0;
      for (const p of pieces) {
        doc.set(p.ids, at);
        mask.fill(p.counted ? 1 : 0, at, at + p.ids.length);
        at += p.ids.length;
      }
      doc[at] = END_OF_DOC;
      mask[at] = segments.every((s) => s.counted) ? 1 : 0;
      docs.push(doc);
      masks.push(mask);
    }
    return Dataset.fromDocs(docs, { masks });
  }

  /** Documents given as token ids, used as they are; `masks` (one byte per token) gives them a loss mask. */
  static fromDocs(docs: ArrayLike<number>[], opts: { masks?: ArrayLike<number>[] } = {}): Dataset {
    const starts = new Float64Array(docs.length + 1);
    for (let i = 0; i < docs.length; i++) starts[i + 1] = starts[i] + docs[i].length;
    const tokens = new Int32Array(starts[docs.length]);
    docs.forEach((d, i) => tokens.set(d, starts[i]));
    let mask: Uint8Array | undefined;
    if (opts.masks) {
      if (opts.masks.length !== docs.length)
        throw new RangeError(`${opts.masks.length} masks for ${docs.length} documents`);
      mask = new Uint8Array(tokens.length);
      opts.masks.forEach((m, i) => {
        if (m.length !== docs[i].length)
          throw new RangeError(`mask ${i} has ${m.length} entries, document ${i} has ${docs[i].length} tokens`);
        mask!.set(m, starts[i]);
      });
    }
    return new Dataset(tokens, starts, mask);
  }

  get docCount(): number {
    return this.starts.length - 1;
  }
  get tokenCount(): number {
    return this.tokens.length;
  }
  docSize(i: number): number {
    checkDoc(this, i);
    return this.starts[i + 1] - this.starts[i];
  }
  docStart(i: number): number {
    checkDoc(this, i);
    return this.starts[i];
  }
  doc(i: number): Int32Array {
    return this.tokens.slice(this.docStart(i), this.starts[i + 1]);
  }
  slice(offset: number, length: number): Int32Array {
    checkSlice(this, offset, length);
    return this.tokens.slice(offset, offset + length);
  }
}

export function checkDoc(ds: TokenDataset, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= ds.docCount)
    throw new RangeError(`document ${i} out of range (the dataset has ${ds.docCount})`);
}

export function checkSlice(ds: TokenDataset, offset: number, length: number): void {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > ds.tokenCount
  ) {
    throw new RangeError(
      `token slice [${offset}, ${offset + length}) out of range (the dataset has ${ds.tokenCount} tokens)`,
    );
  }
}

export interface LengthHistogram {
  edges: number[];
  counts: number[];
  min: number;
  max: number;
  mean: number;
}

/** Document lengths in `bins` equal-width bins (edges has bins+1 entries). */
export function lengthHistogram(ds: TokenDataset, bins = 20): LengthHistogram {
  let min = Infinity,
    max = 0,
    sum = 0;
  for (let i = 0; i < ds.docCount; i++) {
    const s = ds.docSize(i);
    min = Math.min(min, s);
    max = Math.max(max, s);
    sum += s;
  }
  if (ds.docCount === 0) return { edges: [0, 1], counts: [0], min: 0, max: 0, mean: 0 };
  const width = Math.max(1, Math.ceil((max - min + 1) / bins));
  const n = Math.ceil((max - min + 1) / width);
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < ds.docCount; i++) counts[Math.floor((ds.docSize(i) - min) / width)]++;
  const edges = Array.from({ length: n + 1 }, (_, k) => min + k * width);
  return { edges, counts, min, max, mean: sum / ds.docCount };
}

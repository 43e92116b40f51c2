// The token-data contract samplers work on, and the in-memory implementation for small
// notebook data (`Dataset.fromTexts`). BinIdxDataset (binidx.ts) is the file-backed one.
import { defaultTokenizer } from "../tokenizer";
import type { Tokenizer } from "../tokenizer/types";
import { END_OF_DOC } from "../tokenizer/types";

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
}

export class Dataset implements TokenDataset {
  private constructor(
    private readonly tokens: Int32Array,
    private readonly starts: Float64Array,
  ) {}

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

  /** Documents given as token ids, used as they are. */
  static fromDocs(docs: ArrayLike<number>[]): Dataset {
    const starts = new Float64Array(docs.length + 1);
    for (let i = 0; i < docs.length; i++) starts[i + 1] = starts[i] + docs[i].length;
    const tokens = new Int32Array(starts[docs.length]);
    docs.forEach((d, i) => tokens.set(d, starts[i]));
    return new Dataset(tokens, starts);
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

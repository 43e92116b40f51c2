// An Apache Arrow view of a dataset for notebooks: one row per document with its id, length,
// first tokens and (given a tokenizer) a decoded preview.
import { Field, Int32, List, Table, Utf8, makeVector, vectorFromArray } from "apache-arrow";
import { checkOptions, is } from "../check";
import { loadedModelTokenizer } from "../tokenizer/default";
import type { Tokenizer } from "../tokenizer/types";
import type { TokenDataset } from "./dataset";

export interface DatasetTableOptions {
  /** Decodes the `preview` column; default: the loaded model's (none, and no preview, when no model is loaded). */
  tokenizer?: Tokenizer;
  /** Tokens kept in `first_tokens` (default 16). */
  firstTokens?: number;
  /** Characters kept in `preview` (default 80). */
  previewChars?: number;
  /** Rows from document `offset` on (default 0), at most `limit` (default all). */
  offset?: number;
  limit?: number;
}

export function datasetTable(ds: TokenDataset, opts: DatasetTableOptions = {}): Table {
  checkOptions("datasetTable", opts, {
    tokenizer: is.recordOf(() => undefined, "a Tokenizer"),
    firstTokens: is.int(0),
    previewChars: is.int(0),
    offset: is.int(0),
    limit: is.int(0),
  });
  const tokenizer = opts.tokenizer ?? loadedModelTokenizer("datasetTable");
  const nFirst = opts.firstTokens ?? 16;
  const nChars = opts.previewChars ?? 80;
  const from = Math.min(opts.offset ?? 0, ds.docCount);
  const to = Math.min(ds.docCount, from + (opts.limit ?? ds.docCount));
  const ids = new Int32Array(to - from);
  const lengths = new Int32Array(to - from);
  const first: Int32Array[] = [];
  const previews: string[] = [];
  for (let d = from; d < to; d++) {
    ids[d - from] = d;
    lengths[d - from] = ds.docSize(d);
    first.push(ds.slice(ds.docStart(d), Math.min(nFirst, ds.docSize(d))));
    if (tokenizer) {
      // decode a bounded head of the document: enough tokens for nChars characters
      const head = ds.slice(ds.docStart(d), Math.min(ds.docSize(d), nChars * 2));
      const text = tokenizer.decode(head);
      previews.push(text.length > nChars ? `${text.slice(0, nChars)}…` : text);
    }
  }
  const columns: Record<string, ReturnType<typeof makeVector>> = {
    doc: makeVector(ids),
    length: makeVector(lengths),
    first_tokens: vectorFromArray(first, new List(new Field("item", new Int32(), false))),
  };
  if (tokenizer) columns.preview = vectorFromArray(previews, new Utf8());
  return new Table(columns);
}

// Held-out text for judging states: documents from a dataset, a list of texts or a jsonl file, each
// run from the state under test as the start of a conversation (a state is an initial state, so a
// window in the middle of a document would not test it), and their mean next-token loss.
import * as fs from "node:fs";
import { resolveSignal } from "../cancel";
import { Dataset, type TokenDataset } from "../data/dataset";
import { readJsonlTexts } from "../data/jsonl";
import { DataError } from "../errors";
import { meanCrossEntropy, type Model } from "../model/model";
import type { State } from "../model/state";

/** Held-out data: a token dataset, texts, or the path of a jsonl file with a `text` field per line. */
export type HeldOutData = TokenDataset | string[] | string;

export interface HeldOutOptions {
  /** At most this many documents, evenly spread over the data (default 64). */
  samples?: number;
  /** Tokens of each document that count (default 512). */
  ctxLen?: number;
}

function isDataset(d: unknown): d is TokenDataset {
  const x = d as TokenDataset;
  return typeof d === "object" && d !== null && typeof x.tokenCount === "number" && typeof x.doc === "function";
}

/** The documents (≥ 2 tokens, cut to ctxLen + 1) that the loss is measured on. */
export async function heldOutDocs(model: Model, data: HeldOutData, opts: HeldOutOptions = {}): Promise<Int32Array[]> {
  let ds: TokenDataset;
  if (isDataset(data)) ds = data;
  else if (Array.isArray(data)) ds = Dataset.fromTexts(data, model.tokenizer);
  else if (typeof data === "string") {
    if (!fs.existsSync(data)) throw new DataError(`held-out data ${data} does not exist`, { file: data });
    const texts: string[] = [];
    for await (const { text } of readJsonlTexts(data)) texts.push(text);
    ds = Dataset.fromTexts(texts, model.tokenizer);
  } else throw new DataError("held-out data must be a TokenDataset, an array of texts or the path of a jsonl file");
  const n = Math.min(ds.docCount, opts.samples ?? 64),
    T = opts.ctxLen ?? 512;
  const docs: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const d = ds.doc(Math.floor((i * ds.docCount) / n));
    if (d.length >= 2) docs.push(d.subarray(0, T + 1));
  }
  if (docs.length === 0) throw new DataError("the held-out data has no document of two tokens or more");
  return docs;
}

/** Mean next-token cross entropy over every token of the documents, each read from `state`. */
export async function heldOutLoss(
  model: Model,
  state: State,
  docs: Int32Array[],
  signal?: AbortSignal,
): Promise<{ loss: number; tokens: number }> {
  signal = resolveSignal(signal);
  let sum = 0,
    tokens = 0;
  for (const d of docs) {
    const { logits } = await model.forward(d.subarray(0, d.length - 1), { state, logits: "all", signal });
    const n = d.length - 1;
    sum += meanCrossEntropy(logits!, d.subarray(1), model.config.vocabSize) * n;
    tokens += n;
  }
  return { loss: sum / tokens, tokens };
}

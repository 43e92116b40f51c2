// Tokenizer entry point: pick World or bytes (from the model when one is named), find the vocab,
// and load each vocab file once.
import { checkOptions, is } from "../check";
import { openCheckpoint } from "../checkpoint";
import { ByteTokenizer } from "./bytes";
import { loadedModelTokenizer } from "./default";
import { resolveVocab, type VocabQuery } from "./resolve";
import type { Tokenizer } from "./types";
import { VocabError } from "./vocab-file";
import { WorldTokenizer } from "./world";

export type { Tokenizer, StreamDecoder } from "./types";
export { END_OF_DOC, WORLD_VOCAB_SIZE } from "./types";
export { WorldTokenizer, buildWorldTables, type WorldTables } from "./world";
export { ByteTokenizer } from "./bytes";
export { resolveVocab, VOCAB_FILE_NAME, VOCAB_SOURCE, VOCAB_SHA256 } from "./resolve";
export { readVocabFile, parseVocab, VocabError, type Vocab } from "./vocab-file";
export { registerTokenizerSource, loadedModelTokenizer, type TokenizerSource } from "./default";

export type TokenizerKind = "world" | "bytes";
export interface TokenizerOptions extends VocabQuery {
  /** Default: the model's (see tokenizerKindFor) when modelPath is given, else World. */
  kind?: TokenizerKind;
}

/** The tokenizer a vocabulary size implies: ≤ 257 ids (the bytes and end of document) is byte-level, else World. */
export function tokenizerKindFor(vocabSize: number): TokenizerKind {
  return vocabSize <= 257 ? "bytes" : "world";
}

/** The kind of a checkpoint's tokenizer, from the shape of its embedding (no weights are read). */
export function modelTokenizerKind(modelPath: string): TokenizerKind {
  const ckpt = openCheckpoint(modelPath);
  try {
    return tokenizerKindFor(ckpt.entry("emb.weight").shape[0]);
  } finally {
    ckpt.close();
  }
}

const loaded = new Map<string, WorldTokenizer>();

/**
 * The World or byte tokenizer. Without `kind`, the model at `modelPath` decides (a byte-level model
 * never needs the World vocab); without either, World. The World vocab is found by resolveVocab:
 * `vocab`, then $RWKV_VOCAB, then beside the model.
 */
export function loadTokenizer(opts: TokenizerOptions = {}): Tokenizer {
  checkOptions("loadTokenizer", opts, { kind: is.oneOf("world", "bytes"), vocab: is.string, modelPath: is.string });
  const kind = opts.kind ?? (opts.modelPath ? modelTokenizerKind(opts.modelPath) : "world");
  if (kind === "bytes") return new ByteTokenizer();
  const file = resolveVocab(opts);
  let t = loaded.get(file);
  if (!t) {
    t = WorldTokenizer.load(file);
    loaded.set(file, t);
  }
  return t;
}

/**
 * The tokenizer of a call given none: the loaded model's (see loadedModelTokenizer), else World.
 * With no model loaded and no World vocab found, the error also says how to use a model's own.
 */
export function defaultTokenizer(caller: string): Tokenizer {
  const own = loadedModelTokenizer(caller);
  if (own) return own;
  try {
    return loadTokenizer();
  } catch (e) {
    if (!(e instanceof VocabError)) throw e;
    throw new VocabError(
      `${caller} was given no tokenizer and no model is loaded, so it tokenizes for the World vocabulary: ` +
        `${e.message} For a byte-level model (such as Model.demo()), pass { tokenizer: model.tokenizer }.`,
      { searched: e.searched },
    );
  }
}

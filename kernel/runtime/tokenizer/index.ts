// Tokenizer entry point: pick World or bytes, find the vocab, and load each vocab file once.
import { ByteTokenizer } from "./bytes";
import { resolveVocab, type VocabQuery } from "./resolve";
import type { Tokenizer } from "./types";
import { WorldTokenizer } from "./world";

export type { Tokenizer, StreamDecoder } from "./types";
export { END_OF_DOC, WORLD_VOCAB_SIZE } from "./types";
export { WorldTokenizer, buildWorldTables, type WorldTables } from "./world";
export { ByteTokenizer } from "./bytes";
export { resolveVocab, VOCAB_FILE_NAME, VOCAB_SOURCE, VOCAB_SHA256 } from "./resolve";
export { readVocabFile, parseVocab, VocabError, type Vocab } from "./vocab-file";

export type TokenizerKind = "world" | "bytes";
export interface TokenizerOptions extends VocabQuery {
  kind?: TokenizerKind;
}

const loaded = new Map<string, WorldTokenizer>();

/** World (default) or byte tokenizer; World vocab from options.vocab, $RWKV_VOCAB or beside options.modelPath. */
export function loadTokenizer(opts: TokenizerOptions = {}): Tokenizer {
  const kind = opts.kind ?? "world";
  if (kind === "bytes") return new ByteTokenizer();
  if (kind !== "world") throw new Error(`unknown tokenizer '${kind as string}' (use "world" or "bytes")`);
  const file = resolveVocab(opts);
  let t = loaded.get(file);
  if (!t) {
    t = WorldTokenizer.load(file);
    loaded.set(file, t);
  }
  return t;
}

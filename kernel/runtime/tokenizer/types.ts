// The tokenizer contract every consumer (make-data, samplers, generation, the notebook) uses.

/** Incremental decoder for streaming output: text is released only once its UTF-8 bytes are complete. */
export interface StreamDecoder {
  /** Adds one token; returns the text that became complete (often "" mid-character). */
  push(id: number): string;
  /** Ends the stream; returns what is left (incomplete bytes become U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly name: "world" | "bytes";
  /**
   * Size of the id space the model's embedding must cover (65536 for both tokenizers, the
   * RWKV World vocab size). Id 0 is end of document in both.
   */
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  /** UTF-8 decode of decodeBytes(ids); invalid sequences become U+FFFD. Id 0 decodes to "". */
  decode(ids: ArrayLike<number>): string;
  /** The raw bytes of the tokens (may be invalid UTF-8 when cut mid-character). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  streamDecoder(): StreamDecoder;
}

/** End-of-document / end-of-text token of RWKV data (never in the vocab file). */
export const END_OF_DOC = 0;
/** Embedding rows of RWKV World models. */
export const WORLD_VOCAB_SIZE = 65536;

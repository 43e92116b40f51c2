// Byte-level tokenizer: UTF-8 byte b is id b+1 (the same ids the World vocab gives single bytes),
// id 0 ends a document. vocabSize is 65536 so byte-tokenized data and models stay compatible
// with World-sized embeddings; ids above 256 are never produced and are rejected when decoding.
import { createStreamDecoder } from "./stream-decoder";
import { utf8Decode, utf8Encode } from "./utf8";
import { END_OF_DOC, WORLD_VOCAB_SIZE, type StreamDecoder, type Tokenizer } from "./types";

const EMPTY = new Uint8Array(0);
const SINGLE: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

export class ByteTokenizer implements Tokenizer {
  readonly name = "bytes" as const;
  readonly vocabSize = WORLD_VOCAB_SIZE;

  encode(text: string): Int32Array {
    const bytes = utf8Encode(text);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i] + 1;
    return ids;
  }

  /** Encodes bytes[start, end) into out from outPos; returns the new end of out. */
  encodeBytesInto(bytes: Uint8Array, start: number, end: number, out: Uint16Array, outPos: number): number {
    for (let i = start; i < end; i++) out[outPos++] = bytes[i] + 1;
    return outPos;
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === END_OF_DOC) continue;
      out[n++] = this.byteOf(id);
    }
    return out.subarray(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  streamDecoder(): StreamDecoder {
    return createStreamDecoder((id) => (id === END_OF_DOC ? EMPTY : SINGLE[this.byteOf(id)]));
  }

  private byteOf(id: number): number {
    if (!Number.isInteger(id) || id < 1 || id > 256)
      throw new RangeError(`byte tokenizer: token id ${id} is not a byte (ids 1..256, 0 = end of document)`);
    return id - 1;
  }
}

// RWKV World tokenizer (docs/spec.md §5.3): greedy longest match over UTF-8 bytes. The trie is flat:
// direct tables for the first one and two bytes, then one open-addressing hash of
// (node, byte) → (child, token) with the three ints side by side, so each step of the walk
// touches one cache line. All tables sit in SharedArrayBuffers: tokenizer workers use them
// without copying.
import { readVocabFile, type Vocab } from "./vocab-file";
import { createStreamDecoder } from "./stream-decoder";
import { utf8Decode, utf8Encode } from "./utf8";
import { WORLD_VOCAB_SIZE, type StreamDecoder, type Tokenizer } from "./types";

/** Everything the tokenizer needs, as plain typed arrays (postMessage-able, shared memory). */
export interface WorldTables {
  file: string;
  /** Token of each single byte (all 256 exist in a World vocab). */
  byteToken: Int32Array;
  /** Per two-byte prefix b0·256+b1: [node, token] (node 0 when no token starts with it). */
  pair: Int32Array;
  /** Hash slots of SLOT ints: [node·256 + byte + 1 (0 = empty), child node, child's token or 0, unused]. */
  slots: Int32Array;
  hashBits: number;
  /** Bytes of token id i are bytes[starts[i] .. starts[i+1]). */
  bytes: Uint8Array;
  starts: Int32Array;
}

const HASH_MUL = 0x9e3779b1 | 0;
const SLOT = 4;

function shared<T extends Int32Array | Uint8Array>(
  ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  n: number,
): T {
  return new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT));
}

/** Open-addressing (node, byte) → slot index map over `slots`. */
class EdgeHash {
  readonly slots: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  constructor(
    readonly bits: number,
    sharedMemory: boolean,
  ) {
    const n = (1 << bits) * SLOT;
    this.slots = sharedMemory ? shared(Int32Array, n) : new Int32Array(n);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }
  /** Slot offset of the edge, or of the empty slot where it would go (check slots[i] !== key). */
  find(key: number): number {
    for (let h = Math.imul(key, HASH_MUL) >>> this.shift; ; h = (h + 1) & this.mask) {
      const k = this.slots[h * SLOT];
      if (k === key || k === 0) return h * SLOT;
    }
  }
}

export function buildWorldTables(vocab: Vocab): WorldTables {
  const count = vocab.starts.length - 1;
  const bytes = shared(Uint8Array, vocab.bytes.length);
  bytes.set(vocab.bytes);
  const starts = shared(Int32Array, count + 1);
  starts.set(vocab.starts);

  // Pass 1 builds the trie in a table big enough for one edge per token byte; pass 2 copies
  // the edges into a table sized for the real count (half full), which stays cache-friendly.
  const build = new EdgeHash(Math.max(10, Math.ceil(Math.log2(2 * bytes.length + 1))), false);
  const depth1 = new Int32Array(256);
  const byteToken = shared(Int32Array, 256);
  let nodes = 1,
    edges = 0;
  for (let id = 1; id < count; id++) {
    const s = starts[id],
      e = starts[id + 1];
    if (e - s === 1) {
      if (byteToken[bytes[s]] !== 0)
        throw new Error(`${vocab.file}: token ${id} has the same bytes as token ${byteToken[bytes[s]]}`);
      byteToken[bytes[s]] = id;
    }
    let node = depth1[bytes[s]] || (depth1[bytes[s]] = nodes++);
    let at = -1;
    for (let i = s + 1; i < e; i++) {
      const key = node * 256 + bytes[i] + 1;
      at = build.find(key);
      if (build.slots[at] === 0) {
        build.slots[at] = key;
        build.slots[at + 1] = nodes++;
        edges++;
      }
      node = build.slots[at + 1];
    }
    if (at >= 0) {
      if (build.slots[at + 2] !== 0)
        throw new Error(`${vocab.file}: token ${id} has the same bytes as token ${build.slots[at + 2]}`);
      build.slots[at + 2] = id;
    }
  }
  if (nodes >= 1 << 23) throw new Error(`${vocab.file}: vocab too large for the tokenizer trie (${nodes} nodes)`);
  for (let b = 0; b < 256; b++) {
    if (byteToken[b] === 0)
      throw new Error(`${vocab.file}: no single-byte token for byte 0x${b.toString(16)}; encoding could fail`);
  }
  const hash = new EdgeHash(Math.max(10, Math.ceil(Math.log2(2 * edges + 1))), true);
  for (let i = 0; i < build.slots.length; i += SLOT) {
    if (build.slots[i] === 0) continue;
    const at = hash.find(build.slots[i]);
    hash.slots.set(build.slots.subarray(i, i + SLOT), at);
  }
  const pair = shared(Int32Array, 2 * 65536);
  for (let b0 = 0; b0 < 256; b0++) {
    for (let b1 = 0; b1 < 256; b1++) {
      const at = hash.find(depth1[b0] * 256 + b1 + 1);
      if (hash.slots[at] === 0) continue;
      pair[2 * (b0 * 256 + b1)] = hash.slots[at + 1];
      pair[2 * (b0 * 256 + b1) + 1] = hash.slots[at + 2];
    }
  }
  return { file: vocab.file, byteToken, pair, slots: hash.slots, hashBits: hash.bits, bytes, starts };
}

export class WorldTokenizer implements Tokenizer {
  readonly name = "world" as const;
  readonly vocabSize = WORLD_VOCAB_SIZE;
  /** Ids in the vocab file are 1..tokenCount-1 (id 0 = end of document). */
  readonly tokenCount: number;

  constructor(readonly tables: WorldTables) {
    this.tokenCount = tables.starts.length - 1;
  }

  static load(file: string): WorldTokenizer {
    return new WorldTokenizer(buildWorldTables(readVocabFile(file)));
  }

  encode(text: string): Int32Array {
    const bytes = utf8Encode(text);
    const ids = new Uint16Array(bytes.length);
    const n = this.encodeBytesInto(bytes, 0, bytes.length, ids, 0);
    const out = new Int32Array(n);
    out.set(ids.subarray(0, n));
    return out;
  }

  /**
   * Encodes bytes[start, end) into out from outPos; returns the new end of out (needs room for
   * end-start ids). Uint16Array only (ids < 65536), which keeps this hot loop monomorphic.
   */
  encodeBytesInto(bytes: Uint8Array, start: number, end: number, out: Uint16Array, outPos: number): number {
    const { byteToken, pair, slots, hashBits } = this.tables;
    const shift = 32 - hashBits;
    const mask = (1 << hashBits) - 1;
    let p = start;
    let o = outPos;
    while (p < end) {
      const b0 = bytes[p];
      let best = byteToken[b0];
      let bestEnd = p + 1;
      if (p + 1 < end) {
        const pi = 2 * ((b0 << 8) | bytes[p + 1]);
        let node = pair[pi];
        if (node !== 0) {
          if (pair[pi + 1] !== 0) {
            best = pair[pi + 1];
            bestEnd = p + 2;
          }
          for (let q = p + 2; q < end; q++) {
            const key = node * 256 + bytes[q] + 1;
            let h = (Math.imul(key, HASH_MUL) >>> shift) * SLOT;
            let k = slots[h];
            while (k !== key && k !== 0) {
              h = (h + SLOT) & (mask * SLOT);
              k = slots[h];
            }
            if (k === 0) break;
            node = slots[h + 1];
            if (slots[h + 2] !== 0) {
              best = slots[h + 2];
              bestEnd = q + 1;
            }
          }
        }
      }
      out[o++] = best;
      p = bestEnd;
    }
    return o;
  }

  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokenCount)
      throw new RangeError(
        `world tokenizer: token id ${id} is not in the vocab (0..${this.tokenCount - 1}) of ${this.tables.file}`,
      );
    return this.tables.bytes.subarray(this.tables.starts[id], this.tables.starts[id + 1]);
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let i = 0; i < ids.length; i++) n += this.tokenBytes(ids[i]).length;
    const out = new Uint8Array(n);
    for (let i = 0, o = 0; i < ids.length; i++) {
      const b = this.tokenBytes(ids[i]);
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  streamDecoder(): StreamDecoder {
    return createStreamDecoder((id) => this.tokenBytes(id));
  }
}

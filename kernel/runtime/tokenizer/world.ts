// RWKV World tokenizer (spec §5.3): greedy longest match over UTF-8 bytes. The trie is flat:
// a direct table for the first byte, then one open-addressing hash of (node, byte) → child,
// all in SharedArrayBuffers so tokenizer workers use the same tables without copying.
import { readVocabFile, type Vocab } from "./vocab-file";
import { createStreamDecoder } from "./stream-decoder";
import { utf8Decode, utf8Encode } from "./utf8";
import { WORLD_VOCAB_SIZE, type StreamDecoder, type Tokenizer } from "./types";

/** Everything the tokenizer needs, as plain typed arrays (postMessage-able, shared memory). */
export interface WorldTables {
  file: string;
  /** Node of each single byte (depth-1 nodes; root is node 0). */
  root: Int32Array;
  /** Node of each two-byte prefix b0·256+b1, 0 when none: skips two hash probes per token. */
  pair: Int32Array;
  /** Hash slots: key = node·256 + byte + 1 (0 = empty), value = child node. */
  keys: Int32Array;
  children: Int32Array;
  hashBits: number;
  /** Token id ending at each node, 0 when none. */
  nodeToken: Int32Array;
  /** Bytes of token id i are bytes[starts[i] .. starts[i+1]). */
  bytes: Uint8Array;
  starts: Int32Array;
}

const HASH_MUL = 0x9e3779b1 | 0;

function shared<T extends Int32Array | Uint8Array>(ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT));
}

export function buildWorldTables(vocab: Vocab): WorldTables {
  const count = vocab.starts.length - 1;
  const total = vocab.bytes.length;
  const bytes = shared(Uint8Array, total);
  bytes.set(vocab.bytes);
  const starts = shared(Int32Array, count + 1);
  starts.set(vocab.starts);

  // The hash holds one entry per non-root edge: at most one per token byte.
  const hashBits = Math.max(10, Math.ceil(Math.log2(total * 2 + 1)));
  const keys = shared(Int32Array, 1 << hashBits);
  const children = shared(Int32Array, 1 << hashBits);
  const root = shared(Int32Array, 256);
  // Worst case one node per token byte, plus the root.
  const tokenOfNode = new Int32Array(total + 1);
  let nodes = 1;
  const shift = 32 - hashBits;
  const mask = (1 << hashBits) - 1;
  const child = (node: number, b: number, create: boolean): number => {
    if (node === 0) {
      if (root[b] === 0 && create) root[b] = nodes++;
      return root[b];
    }
    const key = node * 256 + b + 1;
    for (let h = Math.imul(key, HASH_MUL) >>> shift; ; h = (h + 1) & mask) {
      if (keys[h] === key) return children[h];
      if (keys[h] === 0) {
        if (!create) return 0;
        keys[h] = key; children[h] = nodes++;
        return children[h];
      }
    }
  };
  for (let id = 1; id < count; id++) {
    let node = 0;
    for (let i = starts[id]; i < starts[id + 1]; i++) node = child(node, bytes[i], true);
    if (tokenOfNode[node] !== 0) throw new Error(`${vocab.file}: token ${id} has the same bytes as token ${tokenOfNode[node]}`);
    tokenOfNode[node] = id;
  }
  if (nodes >= 1 << 23) throw new Error(`${vocab.file}: vocab too large for the tokenizer trie (${nodes} nodes)`);
  for (let b = 0; b < 256; b++) {
    if (root[b] === 0 || tokenOfNode[root[b]] === 0) throw new Error(`${vocab.file}: no single-byte token for byte 0x${b.toString(16)}; encoding could fail`);
  }
  const nodeToken = shared(Int32Array, nodes);
  nodeToken.set(tokenOfNode.subarray(0, nodes));
  const pair = shared(Int32Array, 65536);
  for (let b0 = 0; b0 < 256; b0++) for (let b1 = 0; b1 < 256; b1++) pair[b0 * 256 + b1] = child(root[b0], b1, false);
  return { file: vocab.file, root, pair, keys, children, hashBits, nodeToken, bytes, starts };
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
    const { root, pair, keys, children, nodeToken, hashBits } = this.tables;
    const shift = 32 - hashBits;
    const mask = (1 << hashBits) - 1;
    let p = start;
    let o = outPos;
    while (p < end) {
      let node = root[bytes[p]];
      let best = nodeToken[node];
      let bestEnd = p + 1;
      let q = p + 1;
      if (q < end) {
        const n2 = pair[(bytes[p] << 8) | bytes[q]];
        if (n2 !== 0) {
          node = n2;
          q++;
          const t = nodeToken[node];
          if (t !== 0) { best = t; bestEnd = q; }
        } else q = end; // no token continues this byte
      }
      while (q < end) {
        const key = node * 256 + bytes[q] + 1;
        let h = Math.imul(key, HASH_MUL) >>> shift;
        let k = keys[h];
        while (k !== key && k !== 0) { h = (h + 1) & mask; k = keys[h]; }
        if (k === 0) break;
        node = children[h];
        q++;
        const t = nodeToken[node];
        if (t !== 0) { best = t; bestEnd = q; }
      }
      out[o++] = best;
      p = bestEnd;
    }
    return o;
  }

  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokenCount) throw new RangeError(`world tokenizer: token id ${id} is not in the vocab (0..${this.tokenCount - 1}) of ${this.tables.file}`);
    return this.tables.bytes.subarray(this.tables.starts[id], this.tables.starts[id + 1]);
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let i = 0; i < ids.length; i++) n += this.tokenBytes(ids[i]).length;
    const out = new Uint8Array(n);
    for (let i = 0, o = 0; i < ids.length; i++) { const b = this.tokenBytes(ids[i]); out.set(b, o); o += b.length; }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  streamDecoder(): StreamDecoder {
    return createStreamDecoder((id) => this.tokenBytes(id));
  }
}

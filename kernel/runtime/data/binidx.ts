// binidx (Megatron/GPT-NeoX "MMIDIDX", docs/spec.md §5.1): `.idx` header + sizes + pointers + doc_idx,
// `.bin` the raw tokens. BinIdxDataset reads `.idx` fully and maps `.bin` with the native
// mmapFile when the addon has it (no copy, page cache only), else uses positional reads; a
// `.mask` beside them (chat data, loss-mask.ts) is opened with them.
import * as fs from "node:fs";
import { checkDoc, checkSlice, type TokenDataset } from "./dataset";
import { native, type NativeAddon } from "../native";
import { checkWritableFolder, commitAll, PendingFile, readFully } from "../files";
import { DataError } from "../errors";
import { crc32, LossMask, maskFileOf } from "./loss-mask";

export const IDX_MAGIC = Uint8Array.of(0x4d, 0x4d, 0x49, 0x44, 0x49, 0x44, 0x58, 0, 0); // "MMIDIDX\0\0"
export const IDX_HEADER_BYTES = 34;

export type BinDType = "uint8" | "int8" | "int16" | "int32" | "int64" | "float32" | "float64" | "uint16";
const CODE_OF: Record<BinDType, number> = {
  uint8: 1,
  int8: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  float32: 6,
  float64: 7,
  uint16: 8,
};
const SIZE_OF: Record<BinDType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float32: 4,
  float64: 8,
  uint16: 2,
};
export const dtypeSize = (d: BinDType): number => SIZE_OF[d];

export function idxHeader(dtype: BinDType, items: number, docIdxLength: number): Uint8Array {
  const h = new Uint8Array(IDX_HEADER_BYTES);
  const v = new DataView(h.buffer);
  h.set(IDX_MAGIC, 0);
  v.setBigUint64(9, 1n, true);
  v.setUint8(17, CODE_OF[dtype]);
  v.setBigUint64(18, BigInt(items), true);
  v.setBigUint64(26, BigInt(docIdxLength), true);
  return h;
}

/** The whole `.idx` for items of the given token counts, one item per document (as make_data.py). */
export function encodeIdx(dtype: BinDType, sizes: ArrayLike<number>): Uint8Array {
  const n = sizes.length;
  const buf = new Uint8Array(IDX_HEADER_BYTES + 12 * n + 8 * (n + 1));
  const v = new DataView(buf.buffer);
  buf.set(idxHeader(dtype, n, n + 1), 0);
  let pos = IDX_HEADER_BYTES,
    ptr = 0;
  for (let i = 0; i < n; i++, pos += 4) v.setInt32(pos, sizes[i], true);
  for (let i = 0; i < n; i++, pos += 8) {
    v.setBigInt64(pos, BigInt(ptr), true);
    ptr += sizes[i] * SIZE_OF[dtype];
  }
  for (let i = 0; i <= n; i++, pos += 8) v.setBigInt64(pos, BigInt(i), true);
  return buf;
}

/** Encodes tokens in a binidx element type (ids must fit it). */
export function encodeTokens(tokens: ArrayLike<number>, dtype: BinDType): Uint8Array {
  const limit = dtype === "uint16" ? 0xffff : dtype === "int32" ? 0x7fffffff : -1;
  if (limit < 0) throw new Error(`writing binidx dtype ${dtype} is not supported (use uint16 or int32)`);
  for (let i = 0; i < tokens.length; i++) {
    if (!Number.isInteger(tokens[i]) || tokens[i] < 0 || tokens[i] > limit)
      throw new RangeError(`token ${tokens[i]} at ${i} does not fit binidx ${dtype}`);
  }
  // little-endian hosts: the typed array bytes are the file bytes
  const arr = dtype === "uint16" ? Uint16Array.from(tokens) : Int32Array.from(tokens);
  return new Uint8Array(arr.buffer);
}

/** Writes `<prefix>.bin/.idx` atomically from in-memory documents (small data, tests, notebooks). */
export function writeBinIdx(prefix: string, docs: ArrayLike<number>[], dtype: BinDType = "uint16"): void {
  const bin = `${prefix}.bin`,
    idx = `${prefix}.idx`;
  checkWritableFolder(bin);
  const outs = [new PendingFile(bin), new PendingFile(idx)];
  try {
    const fd = fs.openSync(outs[0].tmp, "w");
    try {
      for (const d of docs) fs.writeSync(fd, encodeTokens(d, dtype));
    } finally {
      fs.closeSync(fd);
    }
    const sizes = docs.map((d) => d.length);
    fs.writeFileSync(outs[1].tmp, encodeIdx(dtype, sizes));
    commitAll(outs);
  } catch (e) {
    for (const o of outs) o.discard();
    throw e;
  }
}

export interface IdxInfo {
  dtype: BinDType;
  itemSize: number;
  sizes: Int32Array;
  pointers: Float64Array;
  docIdx: Float64Array;
}

/** Parses and checks a `.idx` against the byte size of its `.bin`. */
export function parseIdx(buf: Uint8Array, binBytes: number, idxFile: string, binFile: string): IdxInfo {
  const bad = (msg: string): Error => new DataError(`${idxFile}: ${msg}`, { file: idxFile });
  if (buf.length < IDX_HEADER_BYTES)
    throw bad(`${buf.length} bytes, shorter than the ${IDX_HEADER_BYTES}-byte MMIDIDX header`);
  const hex = (a: Uint8Array): string => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex(buf.subarray(0, 9)) !== hex(IDX_MAGIC))
    throw bad(`not a binidx index (magic ${hex(buf.subarray(0, 9))}, expected ${hex(IDX_MAGIC)})`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = v.getBigUint64(9, true);
  if (version !== 1n) throw bad(`version ${version}, only version 1 exists`);
  const code = v.getUint8(17);
  const n = Number(v.getBigUint64(18, true));
  const m = Number(v.getBigUint64(26, true));
  const expected = IDX_HEADER_BYTES + 12 * n + 8 * m;
  if (buf.length !== expected)
    throw bad(
      `header says ${n} items and ${m} doc_idx entries (${expected} bytes) but the file has ${buf.length} bytes`,
    );
  const sizes = new Int32Array(n);
  const pointers = new Float64Array(n);
  const docIdx = new Float64Array(m);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sizes[i] = v.getInt32(IDX_HEADER_BYTES + 4 * i, true);
    if (sizes[i] < 0) throw bad(`item ${i} has negative size ${sizes[i]}`);
    total += sizes[i];
  }
  for (let i = 0; i < n; i++) pointers[i] = Number(v.getBigInt64(IDX_HEADER_BYTES + 4 * n + 8 * i, true));
  for (let i = 0; i < m; i++) docIdx[i] = Number(v.getBigInt64(IDX_HEADER_BYTES + 12 * n + 8 * i, true));
  const dtype = dtypeOfCode(code, total, binBytes, bad);
  const itemSize = SIZE_OF[dtype];
  if (total * itemSize !== binBytes)
    throw bad(
      `sizes add up to ${total} tokens × ${itemSize} bytes = ${total * itemSize} bytes, ` +
        `but ${binFile} has ${binBytes} bytes`,
    );
  for (let i = 0, p = 0; i < n; p += sizes[i] * itemSize, i++) {
    if (pointers[i] !== p) throw bad(`pointer of item ${i} is ${pointers[i]}, expected ${p} (the prefix sum of sizes)`);
  }
  if (m > 0 && (docIdx[0] !== 0 || docIdx[m - 1] !== n))
    throw bad(`doc_idx must start with 0 and end with ${n}, has ${docIdx[0]} … ${docIdx[m - 1]}`);
  for (let i = 1; i < m; i++) if (docIdx[i] < docIdx[i - 1]) throw bad(`doc_idx decreases at entry ${i}`);
  return { dtype, itemSize, sizes, pointers, docIdx };
}

function dtypeOfCode(code: number, tokens: number, binBytes: number, bad: (m: string) => Error): BinDType {
  switch (code) {
    case 1:
      return "uint8";
    case 2:
      return "int8";
    case 3:
      return "int16";
    case 4:
      return "int32";
    case 5:
      return "int64";
    // Code 6 is float64 in LM's reader but float32 in PEFT's json2binidx: the .bin size decides.
    case 6:
      return tokens > 0 && binBytes === tokens * 8 ? "float64" : "float32";
    case 7:
      return "float64";
    case 8:
      return "uint16";
    default:
      throw bad(`unknown dtype code ${code} (known: 1..8)`);
  }
}

export class BinIdxDataset implements TokenDataset {
  readonly binFile: string;
  readonly idxFile: string;
  readonly dtype: BinDType;
  readonly tokenCount: number;
  /** Item index where each document starts (binidx doc_idx; items = documents for make_data/json2binidx). */
  readonly docIdx: Float64Array;
  /** The loss mask (`<prefix>.mask`) when the data has one (make-data --format chat). */
  readonly lossMask: LossMask | null = null;
  private readonly sizes: Int32Array;
  private readonly starts: Float64Array;
  private readonly itemSize: number;
  private fd: number | null = null;
  private mapped: Uint8Array | null = null;
  private closed = false;

  private constructor(prefix: string, useMmap: boolean) {
    this.binFile = `${prefix}.bin`;
    this.idxFile = `${prefix}.idx`;
    let idxBuf: Uint8Array;
    try {
      idxBuf = new Uint8Array(fs.readFileSync(this.idxFile));
    } catch (e) {
      throw new DataError(`cannot read ${this.idxFile}: ${(e as Error).message}`, { file: this.idxFile });
    }
    let binBytes: number;
    try {
      binBytes = fs.statSync(this.binFile).size;
    } catch (e) {
      throw new DataError(`cannot read ${this.binFile}: ${(e as Error).message}`, { file: this.binFile });
    }
    const info = parseIdx(idxBuf, binBytes, this.idxFile, this.binFile);
    this.dtype = info.dtype;
    this.itemSize = info.itemSize;
    this.sizes = info.sizes;
    this.docIdx = info.docIdx;
    this.starts = new Float64Array(info.sizes.length + 1);
    for (let i = 0; i < info.sizes.length; i++) this.starts[i + 1] = this.starts[i] + info.sizes[i];
    this.tokenCount = binBytes / info.itemSize;
    const maskFile = maskFileOf(prefix);
    if (fs.existsSync(maskFile))
      this.lossMask = LossMask.open(maskFile, {
        tokens: this.tokenCount,
        items: info.sizes.length,
        idxCrc32: crc32(idxBuf),
      });
    if (useMmap && binBytes > 0) this.mapped = mapFile(this.binFile);
    if (!this.mapped) this.fd = fs.openSync(this.binFile, "r");
  }

  /** Mask bytes of tokens [offset, offset+length) (see TokenDataset.maskSlice); only when the data has a mask. */
  get maskSlice(): ((offset: number, length: number) => Uint8Array) | undefined {
    const m = this.lossMask;
    return m
      ? (offset, length) => {
          checkSlice(this, offset, length);
          return m.slice(offset, length);
        }
      : undefined;
  }

  /** True when `.bin` is memory-mapped (native addon), false when read with positional reads. */
  get isMapped(): boolean {
    return this.mapped !== null;
  }

  /**
   * Opens `<prefix>.bin` + `<prefix>.idx`, and `<prefix>.mask` when present (a trailing .bin/.idx on
   * prefix is accepted).
   */
  static open(prefix: string, opts: { mmap?: boolean } = {}): BinIdxDataset {
    return new BinIdxDataset(prefix.replace(/\.(bin|idx)$/, ""), opts.mmap ?? true);
  }

  get docCount(): number {
    return this.sizes.length;
  }
  docSize(i: number): number {
    checkDoc(this, i);
    return this.sizes[i];
  }
  docStart(i: number): number {
    checkDoc(this, i);
    return this.starts[i];
  }
  doc(i: number): Int32Array {
    return this.slice(this.docStart(i), this.sizes[i]);
  }

  slice(offset: number, length: number): Int32Array {
    checkSlice(this, offset, length);
    if (this.closed) throw new Error(`${this.binFile} is closed`);
    if (this.mapped)
      return decodeTokens(
        this.mapped.subarray(offset * this.itemSize, (offset + length) * this.itemSize),
        this.dtype,
        length,
      );
    const raw = new Uint8Array(length * this.itemSize);
    readFully(
      this.fd!,
      raw,
      offset * this.itemSize,
      (at) => new DataError(`${this.binFile}: unexpected end of file at byte ${at}`, { file: this.binFile }),
    );
    return decodeTokens(raw, this.dtype, length);
  }

  close(): void {
    this.lossMask?.close();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.mapped = null; // unmapped when collected
    this.closed = true;
  }
}

/** The native mapping of a file, or null when the addon is not built or lacks mmapFile. */
function mapFile(file: string): Uint8Array | null {
  let addon: NativeAddon;
  try {
    addon = native(); // reading data works without the native runtime: positional reads then
  } catch {
    return null;
  }
  if (typeof addon.mmapFile !== "function") return null;
  return new Uint8Array(addon.mmapFile(file));
}

/**
 * A copy of the n tokens in `raw` as Int32Array. raw is aligned to its element size (a fresh
 * array, or a page-aligned mapping at a multiple of the item size); hosts are little-endian.
 */
function decodeTokens(raw: Uint8Array, dtype: BinDType, n: number): Int32Array {
  const b = raw.buffer,
    o = raw.byteOffset;
  switch (dtype) {
    case "uint8":
      return Int32Array.from(raw);
    case "int8":
      return Int32Array.from(new Int8Array(b, o, n));
    case "int16":
      return Int32Array.from(new Int16Array(b, o, n));
    case "uint16":
      return Int32Array.from(new Uint16Array(b, o, n));
    case "int32":
      return new Int32Array(b, o, n).slice();
    case "int64":
      return Int32Array.from(new BigInt64Array(b, o, n), (x) => Number(x));
    case "float32":
      return Int32Array.from(new Float32Array(b, o, n));
    case "float64":
      return Int32Array.from(new Float64Array(b, o, n));
  }
}

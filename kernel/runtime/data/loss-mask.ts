// The loss-mask sidecar of chat data (docs/spec.md §5.4): `<prefix>.mask` beside `<prefix>.bin/.idx`,
// one bit per token of the .bin in the same order, 1 = "predicting this token counts in the loss".
// A 40-byte header ties it to its binidx (token and item counts, CRC-32 of the .idx), so a mask
// left beside other data is refused instead of silently masking the wrong tokens.
//   0   8  magic "RWKVMASK"
//   8   4  u32 version = 1
//   12  4  u32 bits per token = 1
//   16  8  u64 tokens (the .bin's data_size)
//   24  8  u64 items (the .idx's n)
//   32  4  u32 CRC-32 of the whole .idx file
//   36  4  u32 reserved, 0
//   40  …  ceil(tokens / 8) bytes: token i is bit (i mod 8) of byte i div 8 (least significant first)
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { DataError } from "../errors";
import { readFully } from "../files";

export const MASK_MAGIC = "RWKVMASK";
export const MASK_HEADER_BYTES = 40;

/** What a mask file is tied to: the .bin's token count, the .idx's item count and its CRC-32. */
export interface MaskBinding {
  tokens: number;
  items: number;
  idxCrc32: number;
}

/** The sidecar's path for a binidx prefix. */
export const maskFileOf = (prefix: string): string => `${prefix}.mask`;

export function maskHeader(b: MaskBinding): Uint8Array {
  const h = new Uint8Array(MASK_HEADER_BYTES);
  const v = new DataView(h.buffer);
  h.set(Buffer.from(MASK_MAGIC, "latin1"), 0);
  v.setUint32(8, 1, true);
  v.setUint32(12, 1, true);
  v.setBigUint64(16, BigInt(b.tokens), true);
  v.setBigUint64(24, BigInt(b.items), true);
  v.setUint32(32, b.idxCrc32 >>> 0, true);
  return h;
}

/** Packs 0/1 bytes into the file's bit order as they stream by (tokens in .bin order). */
export class MaskBitPacker {
  private readonly buf = new Uint8Array(1 << 16);
  private fill = 0; // whole bytes in buf
  private bits = 0; // bits in buf[fill] so far
  constructor(private readonly write: (bytes: Uint8Array) => Promise<void>) {}

  async push(mask: Uint8Array): Promise<void> {
    for (let i = 0; i < mask.length; i++) {
      if (this.bits === 0) this.buf[this.fill] = 0;
      if (mask[i]) this.buf[this.fill] |= 1 << this.bits;
      if (++this.bits === 8) {
        this.bits = 0;
        if (++this.fill === this.buf.length) await this.flushWhole();
      }
    }
  }

  private async flushWhole(): Promise<void> {
    await this.write(this.buf.slice(0, this.fill));
    this.fill = 0;
  }

  /** Writes what is left, the last byte's unused bits zero. */
  async end(): Promise<void> {
    if (this.bits > 0) {
      this.fill++;
      this.bits = 0;
    }
    if (this.fill > 0) await this.flushWhole();
  }
}

/** An open mask file, checked against its binidx; slices read by position. */
export class LossMask {
  private fd: number | null;
  private constructor(
    readonly file: string,
    readonly tokens: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens `file` and checks it belongs to the binidx described by `binding`. */
  static open(file: string, binding: MaskBinding): LossMask {
    const bad = (msg: string): DataError =>
      new DataError(`${file}: ${msg}; remake the data with make-data (or delete the mask to train without it)`, {
        file,
      });
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      throw new DataError(`cannot read ${file}: ${(e as Error).message}`, { file });
    }
    try {
      const size = fs.fstatSync(fd).size;
      const h = new Uint8Array(MASK_HEADER_BYTES);
      if (size < MASK_HEADER_BYTES) throw bad(`${size} bytes, shorter than the ${MASK_HEADER_BYTES}-byte header`);
      readFully(fd, h, 0, () => bad("truncated header"));
      const v = new DataView(h.buffer);
      if (Buffer.from(h.subarray(0, 8)).toString("latin1") !== MASK_MAGIC)
        throw bad(`not a loss-mask file (no "${MASK_MAGIC}" magic)`);
      const version = v.getUint32(8, true),
        bits = v.getUint32(12, true);
      if (version !== 1 || bits !== 1) throw bad(`version ${version} with ${bits} bits per token; only 1/1 exists`);
      const tokens = Number(v.getBigUint64(16, true)),
        items = Number(v.getBigUint64(24, true)),
        crc = v.getUint32(32, true);
      if (tokens !== binding.tokens || items !== binding.items || crc !== binding.idxCrc32 >>> 0)
        throw bad(
          `it was written for other data (${tokens} tokens, ${items} items, .idx CRC ${crc.toString(16)}; ` +
            `the binidx has ${binding.tokens}, ${binding.items}, ${(binding.idxCrc32 >>> 0).toString(16)})`,
        );
      const want = MASK_HEADER_BYTES + Math.ceil(tokens / 8);
      if (size !== want) throw bad(`${size} bytes, expected ${want} for ${tokens} tokens`);
      return new LossMask(file, tokens, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Mask bytes (0/1) of tokens [offset, offset + length). */
  slice(offset: number, length: number): Uint8Array {
    if (this.fd === null) throw new Error(`${this.file} is closed`);
    const first = Math.floor(offset / 8),
      last = Math.floor((offset + length + 7) / 8);
    const packed = new Uint8Array(last - first);
    readFully(this.fd, packed, MASK_HEADER_BYTES + first, (at) => new DataError(`${this.file}: ends at byte ${at}`));
    return unpackBits(packed, offset - first * 8, length);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** `length` bits from bit `start` of `packed` as 0/1 bytes. */
function unpackBits(packed: Uint8Array, start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const b = start + i;
    out[i] = (packed[b >> 3] >> (b & 7)) & 1;
  }
  return out;
}

export const crc32 = (bytes: Uint8Array): number => zlib.crc32(bytes) >>> 0;

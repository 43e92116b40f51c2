// Reads the ZIP container torch writes (stored entries, data descriptors, ZIP64) from the central
// directory, which is the truth; local headers are only skipped over.
import { CheckpointError } from "../errors";
import type { ByteSource } from "./file-bytes";

export interface ZipEntry {
  name: string;
  offset: number;
  size: number;
  method: number;
}

const EOCD = 0x06054b50,
  ZIP64_LOCATOR = 0x07064b50,
  ZIP64_EOCD = 0x06064b50,
  CENTRAL = 0x02014b50,
  LOCAL = 0x04034b50;

function u64(v: DataView, at: number): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("64-bit field too large");
  return Number(n);
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function readZipDirectory(src: ByteSource, file: string): Map<string, ZipEntry> {
  const fail = (why: string): never => {
    throw new CheckpointError(`not a readable .pth (zip) file: ${why}`, file);
  };
  const size = src.size;
  const tailStart = Math.max(0, size - 22 - 65535),
    tail = src.read(tailStart, size - tailStart),
    t = view(tail);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (t.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return fail("no end-of-central-directory record (truncated or not a zip)");
  let count = t.getUint16(eocd + 10, true),
    cdSize = t.getUint32(eocd + 12, true),
    cdOffset = t.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || t.getUint32(loc, true) !== ZIP64_LOCATOR) fail("ZIP64 fields without a ZIP64 locator");
    const z = u64(t, loc + 8);
    if (z + 56 > size) fail("ZIP64 end record lies past the end of the file: truncated");
    const r = view(src.read(z, 56));
    if (r.getUint32(0, true) !== ZIP64_EOCD) fail("bad ZIP64 end record");
    count = u64(r, 32);
    cdSize = u64(r, 40);
    cdOffset = u64(r, 48);
  }
  if (cdOffset + cdSize > size)
    fail(`central directory (${cdOffset}+${cdSize}) lies past the end of the file (${size} bytes): truncated`);
  const cd = src.read(cdOffset, cdSize),
    v = view(cd);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || v.getUint32(p, true) !== CENTRAL) fail(`central directory entry ${n} is damaged`);
    const method = v.getUint16(p + 10, true);
    let compSize = v.getUint32(p + 20, true),
      local = v.getUint32(p + 42, true);
    const rawSize = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true),
      extraLen = v.getUint16(p + 30, true),
      commentLen = v.getUint16(p + 32, true);
    if (p + 46 + nameLen + extraLen > cd.length) fail(`central directory entry ${n} is damaged`);
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: present values in the order uncompressed size, compressed size, local offset
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = v.getUint16(e, true),
        len = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (rawSize === 0xffffffff) q += 8;
        if (compSize === 0xffffffff) {
          compSize = u64(v, q);
          q += 8;
        }
        if (local === 0xffffffff) local = u64(v, q);
      }
      e += 4 + len;
    }
    if (local + 30 > size) fail(`entry ${name}: local header lies past the end of the file: truncated`);
    const lh = view(src.read(local, 30));
    if (lh.getUint32(0, true) !== LOCAL) fail(`entry ${name}: bad local header`);
    const offset = local + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
    if (offset + compSize > size) fail(`entry ${name} runs past the end of the file: truncated`);
    entries.set(name, { name, offset, size: compSize, method });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

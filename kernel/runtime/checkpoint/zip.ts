// Reads the ZIP container torch writes (stored entries, data descriptors, ZIP64) from the central
// directory, which is the truth; local headers are only skipped over.
import { CheckpointError } from "./errors";

export interface ZipEntry { name: string; offset: number; size: number; method: number }

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

function u64(v: DataView, at: number): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("64-bit field too large");
  return Number(n);
}

export function readZipDirectory(bytes: Uint8Array, file: string): Map<string, ZipEntry> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => { throw new CheckpointError(`not a readable .pth (zip) file: ${why}`, file); };
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) fail("no end-of-central-directory record (truncated or not a zip)");
  let count = v.getUint16(eocd + 10, true), cdSize = v.getUint32(eocd + 12, true), cdOffset = v.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || v.getUint32(loc, true) !== ZIP64_LOCATOR) fail("ZIP64 fields without a ZIP64 locator");
    const z = u64(v, loc + 8);
    if (z + 56 > bytes.length || v.getUint32(z, true) !== ZIP64_EOCD) fail("bad ZIP64 end record");
    count = u64(v, z + 32); cdSize = u64(v, z + 40); cdOffset = u64(v, z + 48);
  }
  if (cdOffset + cdSize > bytes.length) fail(`central directory (${cdOffset}+${cdSize}) lies past the end of the file (${bytes.length} bytes): truncated`);
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== CENTRAL) fail(`central directory entry ${n} is damaged`);
    const method = v.getUint16(p + 10, true);
    let size = v.getUint32(p + 20, true), compSize = v.getUint32(p + 24, true), local = v.getUint32(p + 42, true);
    const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = v.getUint16(e, true), len = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = u64(v, q); q += 8; }
        if (compSize === 0xffffffff) { compSize = u64(v, q); q += 8; }
        if (local === 0xffffffff) { local = u64(v, q); q += 8; }
      }
      e += 4 + len;
    }
    if (local + 30 > bytes.length || v.getUint32(local, true) !== LOCAL) fail(`entry ${name}: bad local header (truncated?)`);
    const offset = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    if (offset + compSize > bytes.length) fail(`entry ${name} runs past the end of the file: truncated`);
    entries.set(name, { name, offset, size: compSize, method });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

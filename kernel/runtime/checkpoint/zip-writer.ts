// Writes a zip the way torch.save does (docs/spec.md §6.1): stored entries with 64-byte aligned data
// (padding in an "FB" extra field), data descriptors, CRC-32, and ZIP64 end records.
import * as fs from "node:fs";
import * as zlib from "node:zlib";

const ALIGN = 64;

interface Written {
  name: Uint8Array;
  crc: number;
  size: number;
  local: number;
}

export class ZipWriter {
  private pos = 0;
  private readonly written: Written[] = [];

  /** `zip64From`: sizes/offsets from which ZIP64 fields are used (lowered only by tests). */
  constructor(
    private readonly fd: number,
    private readonly zip64From = 0xffffffff,
  ) {}

  private write(b: Uint8Array) {
    fs.writeSync(this.fd, b, 0, b.length, this.pos);
    this.pos += b.length;
  }

  add(name: string, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(name);
    const local = this.pos;
    const headerEnd = local + 30 + nameBytes.length + 4;
    const pad = (ALIGN - (headerEnd % ALIGN)) % ALIGN;
    const h = Buffer.alloc(30 + nameBytes.length + 4 + pad);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(45, 4);
    h.writeUInt16LE(0x0808, 6);
    h.writeUInt16LE(nameBytes.length, 26);
    h.writeUInt16LE(4 + pad, 28);
    h.set(nameBytes, 30);
    h.writeUInt16LE(0x4246, 30 + nameBytes.length);
    h.writeUInt16LE(pad, 32 + nameBytes.length); // "FB"
    this.write(h);
    this.write(data);
    const crc = zlib.crc32(data);
    const big = data.length >= this.zip64From;
    const d = Buffer.alloc(big ? 24 : 16);
    d.writeUInt32LE(0x08074b50, 0);
    d.writeUInt32LE(crc, 4);
    if (big) {
      d.writeBigUInt64LE(BigInt(data.length), 8);
      d.writeBigUInt64LE(BigInt(data.length), 16);
    } else {
      d.writeUInt32LE(data.length, 8);
      d.writeUInt32LE(data.length, 12);
    }
    this.write(d);
    this.written.push({ name: nameBytes, crc, size: data.length, local });
  }

  finish(): void {
    const cdStart = this.pos;
    for (const e of this.written) {
      const needs64 = e.size >= this.zip64From || e.local >= this.zip64From;
      const extra = needs64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
      if (needs64) {
        extra.writeUInt16LE(1, 0);
        extra.writeUInt16LE(24, 2);
        extra.writeBigUInt64LE(BigInt(e.size), 4);
        extra.writeBigUInt64LE(BigInt(e.size), 12);
        extra.writeBigUInt64LE(BigInt(e.local), 20);
      }
      const c = Buffer.alloc(46 + e.name.length + extra.length);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(45, 4);
      c.writeUInt16LE(45, 6);
      c.writeUInt16LE(0x0808, 8);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(needs64 ? 0xffffffff : e.size, 20);
      c.writeUInt32LE(needs64 ? 0xffffffff : e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt16LE(extra.length, 30);
      c.writeUInt32LE(needs64 ? 0xffffffff : e.local, 42);
      c.set(e.name, 46);
      c.set(extra, 46 + e.name.length);
      this.write(c);
    }
    const cdSize = this.pos - cdStart,
      z64 = this.pos,
      n = this.written.length;
    const r = Buffer.alloc(56 + 20 + 22);
    r.writeUInt32LE(0x06064b50, 0);
    r.writeBigUInt64LE(44n, 4);
    r.writeUInt16LE(45, 12);
    r.writeUInt16LE(45, 14);
    r.writeBigUInt64LE(BigInt(n), 24);
    r.writeBigUInt64LE(BigInt(n), 32);
    r.writeBigUInt64LE(BigInt(cdSize), 40);
    r.writeBigUInt64LE(BigInt(cdStart), 48);
    r.writeUInt32LE(0x07064b50, 56);
    r.writeBigUInt64LE(BigInt(z64), 64);
    r.writeUInt32LE(1, 72);
    r.writeUInt32LE(0x06054b50, 76);
    r.writeUInt16LE(Math.min(n, 0xffff), 84);
    r.writeUInt16LE(Math.min(n, 0xffff), 86);
    r.writeUInt32LE(cdSize >= this.zip64From ? 0xffffffff : cdSize, 88);
    r.writeUInt32LE(cdStart >= this.zip64From ? 0xffffffff : cdStart, 92);
    this.write(r);
  }
}

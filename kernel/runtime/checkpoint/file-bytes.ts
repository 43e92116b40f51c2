// Byte ranges of a checkpoint file, read only when asked for: memory-mapped through the addon
// when it can (no copy; pages load on touch), else positional reads of just the range asked for.
// Either way a 3 GB checkpoint never needs twice its size in RAM.
import * as fs from "node:fs";
import { readFully } from "../files";
import { native } from "../native";
import { CheckpointError } from "../errors";

export interface ByteSource {
  readonly size: number;
  /** `length` bytes from `offset` (a view of the mapping, or a fresh buffer). */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

class MappedBytes implements ByteSource {
  private bytes: Uint8Array | undefined;
  constructor(
    private readonly file: string,
    bytes: Uint8Array,
  ) {
    this.bytes = bytes;
  }
  get size(): number {
    return this.bytes?.length ?? 0;
  }
  read(offset: number, length: number): Uint8Array {
    if (!this.bytes) throw new CheckpointError("checkpoint is closed", this.file);
    return this.bytes.subarray(offset, offset + length);
  }
  close(): void {
    this.bytes = undefined;
  }
}

class FileRanges implements ByteSource {
  private fd: number | undefined;
  constructor(
    private readonly file: string,
    fd: number,
    readonly size: number,
  ) {
    this.fd = fd;
  }
  read(offset: number, length: number): Uint8Array {
    if (this.fd === undefined) throw new CheckpointError("checkpoint is closed", this.file);
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    readFully(this.fd, out, offset, (at) => new CheckpointError(`file ended at byte ${at} while reading`, this.file));
    return out;
  }
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export function openBytes(file: string): ByteSource {
  let fd: number, size: number;
  try {
    fd = fs.openSync(file, "r");
    size = fs.fstatSync(fd).size;
  } catch (e) {
    throw new CheckpointError(`cannot open: ${(e as Error).message}`, file);
  }
  if (size > 0) {
    try {
      const addon = native();
      if (typeof addon.mmapFile === "function") {
        const mapped = new MappedBytes(file, new Uint8Array(addon.mmapFile(file)));
        fs.closeSync(fd);
        return mapped;
      }
    } catch {
      /* addon absent or mapping refused: read ranges instead */
    }
  }
  return new FileRanges(file, fd, size);
}

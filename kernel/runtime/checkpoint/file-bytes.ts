// Byte ranges of a checkpoint file, read only when asked for: memory-mapped through the addon
// when it can (no copy; pages load on touch), else positional reads of just the range asked for.
// Either way a 3 GB checkpoint never needs twice its size in RAM.
import * as fs from "node:fs";
import { native } from "../native";
import { CheckpointError } from "./errors";

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
    for (let done = 0; done < out.length;) {
      const n = fs.readSync(this.fd, out, done, out.length - done, offset + done);
      if (n === 0) throw new CheckpointError(`file ended at byte ${offset + done} while reading`, this.file);
      done += n;
    }
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

/** Writes through `write(fd)` into a temporary file beside `file`, then renames it into place. */
export function writeAtomically(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "w");
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined)
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    fs.rmSync(tmp, { force: true });
    throw e instanceof CheckpointError ? e : new CheckpointError(`cannot write: ${(e as Error).message}`, file);
  }
}

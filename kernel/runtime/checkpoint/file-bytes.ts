// The bytes of a whole file: memory-mapped through the addon when it can (no copy; pages load on
// touch, so a 3 GB checkpoint costs no more than what is read), else read into one buffer.
import * as fs from "node:fs";
import { native } from "../native";
import { CheckpointError } from "./errors";

export function fileBytes(file: string): Uint8Array {
  let size: number;
  try { size = fs.statSync(file).size; } catch (e) { throw new CheckpointError(`cannot open: ${(e as Error).message}`, file); }
  if (size === 0) return new Uint8Array(0);
  try {
    const addon = native();
    if (typeof addon.mmapFile === "function") return new Uint8Array(addon.mmapFile(file));
  } catch { /* addon absent or mapping refused: fall back to reading */ }
  try { return new Uint8Array(fs.readFileSync(file)); } catch (e) { throw new CheckpointError(`cannot read: ${(e as Error).message}`, file); }
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
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* already failing */ }
    fs.rmSync(tmp, { force: true });
    throw new CheckpointError(`cannot write: ${(e as Error).message}`, file);
  }
}

// Checkpoint files: torch .pth (read without executing pickle; written as torch.save does) and
// safetensors. openCheckpoint picks the reader from the file's first bytes.
import * as fs from "node:fs";
import { CheckpointError } from "../errors";
import { PthCheckpoint } from "./pth-reader";
import { SafetensorsCheckpoint } from "./safetensors";
import type { Checkpoint } from "./types";

export { CheckpointError } from "../errors";
export { writePth } from "./pth-writer";
export type { WritePthOptions } from "./pth-writer";
export { writeSafetensors, SafetensorsCheckpoint } from "./safetensors";
export { PthCheckpoint } from "./pth-reader";
export type { Checkpoint, TensorEntry, TensorSource, TensorList } from "./types";

export function openCheckpoint(file: string): Checkpoint {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, "r");
    head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
  } catch (e) {
    throw new CheckpointError(`cannot open: ${(e as Error).message}`, file);
  }
  if (head.readUInt32LE(0) === 0x04034b50) return new PthCheckpoint(file);
  return new SafetensorsCheckpoint(file);
}

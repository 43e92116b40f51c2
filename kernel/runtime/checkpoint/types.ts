// What checkpoint readers return and writers take.
import { writeFileAtomic } from "../files";
import type { DType, Tensor } from "../tensor";
import { CheckpointError } from "../errors";

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
}

/** A checkpoint opened for reading; tensor bytes are read only when asked for. */
export interface Checkpoint {
  readonly path: string;
  readonly format: "pth" | "safetensors";
  /** safetensors `__metadata__` (empty for .pth). */
  readonly metadata: Record<string, string>;
  keys(): string[];
  has(name: string): boolean;
  entry(name: string): TensorEntry;
  read(name: string): Tensor;
  close(): void;
}

/** A tensor to write whose bytes may be produced only when the writer reaches it. */
export interface TensorSource {
  dtype: DType;
  shape: readonly number[];
  data: Uint8Array | (() => Uint8Array);
}

/** What the writers take: [name, tensor] pairs in order, or a record (insertion order). */
export type TensorList = Iterable<[string, Tensor | TensorSource]> | Record<string, Tensor | TensorSource>;

export function tensorPairs(t: TensorList): [string, Tensor | TensorSource][] {
  return Symbol.iterator in t ? [...(t as Iterable<[string, Tensor | TensorSource]>)] : Object.entries(t);
}

/** The atomic writer, with failures as CheckpointErrors naming the file. */
export function writeCheckpointFile(file: string, fill: (fd: number) => void): void {
  try {
    writeFileAtomic(file, fill);
  } catch (e) {
    throw e instanceof CheckpointError ? e : new CheckpointError(`cannot write: ${(e as Error).message}`, file);
  }
}

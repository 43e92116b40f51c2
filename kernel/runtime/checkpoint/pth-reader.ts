// Reads a torch .pth (zip + pickle) without executing it (docs/spec.md §6).
import { DTYPE_SIZE, Tensor } from "../tensor";
import { CheckpointError } from "./errors";
import { openBytes, type ByteSource } from "./file-bytes";
import { missingKey } from "./missing-key";
import { unpickle, type TensorRef } from "./pickle";
import type { Checkpoint, TensorEntry } from "./types";
import { readZipDirectory, type ZipEntry } from "./zip";

export class PthCheckpoint implements Checkpoint {
  readonly format = "pth" as const;
  readonly metadata: Record<string, string> = {};
  private readonly src: ByteSource;
  private readonly entries: Map<string, ZipEntry>;
  private readonly tensors = new Map<string, TensorRef>();
  private readonly archive: string;

  constructor(readonly path: string) {
    this.src = openBytes(path);
    try {
      this.entries = readZipDirectory(this.src, path);
      this.archive = this.archiveFolder();
      const pkl = this.entries.get(`${this.archive}/data.pkl`);
      if (!pkl) throw new CheckpointError(`no ${this.archive}/data.pkl in the zip`, path);
      const root = unpickle(this.slice(pkl), path);
      if (!(root instanceof Map)) throw new CheckpointError("the pickled object is not a dict of tensors", path);
      for (const [k, val] of root) {
        if ((val as TensorRef)?.kind === "tensor") this.tensors.set(k, val as TensorRef);
      }
    } catch (e) {
      this.src.close();
      throw e;
    }
  }

  /** torch puts every entry under one folder, named after the file it first saved to. */
  private archiveFolder(): string {
    const first = this.entries.keys().next().value as string | undefined;
    if (!first || !first.includes("/"))
      throw new CheckpointError("zip has no top-level folder, so it is not a torch checkpoint", this.path);
    const archive = first.slice(0, first.indexOf("/"));
    for (const name of this.entries.keys()) {
      if (!name.startsWith(`${archive}/`))
        throw new CheckpointError(`entry ${name} lies outside the archive folder ${archive}/`, this.path);
    }
    return archive;
  }

  private slice(e: ZipEntry): Uint8Array {
    if (e.method !== 0)
      throw new CheckpointError(
        `entry ${e.name} is compressed (method ${e.method}); torch writes stored entries`,
        this.path,
      );
    return this.src.read(e.offset, e.size);
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  private ref(name: string): TensorRef {
    const t = this.tensors.get(name);
    if (!t) throw missingKey(this.path, name, this.keys());
    return t;
  }

  entry(name: string): TensorEntry {
    const t = this.ref(name);
    return { name, dtype: t.storage.dtype, shape: [...t.shape] };
  }

  read(name: string): Tensor {
    const t = this.ref(name);
    const size = DTYPE_SIZE[t.storage.dtype];
    const entry = this.entries.get(`${this.archive}/data/${t.storage.key}`);
    if (!entry) throw new CheckpointError(`storage data/${t.storage.key} is missing from the zip`, this.path, name);
    const storage = this.slice(entry);
    if (storage.length < t.storage.numel * size)
      throw new CheckpointError(
        `storage data/${t.storage.key} has ${storage.length} bytes, the pickle says ${t.storage.numel * size}`,
        this.path,
        name,
      );
    const numel = Tensor.numelOf(t.shape);
    let span = 1;
    for (let d = 0; d < t.shape.length; d++) span += (t.shape[d] - 1) * t.stride[d];
    if (numel > 0 && (t.offset + span) * size > storage.length)
      throw new CheckpointError(
        `tensor of shape [${t.shape}] does not fit in its storage (${t.storage.numel} elements)`,
        this.path,
        name,
      );
    if (isContiguous(t.shape, t.stride))
      return new Tensor(t.storage.dtype, t.shape, storage.subarray(t.offset * size, (t.offset + numel) * size));
    return new Tensor(t.storage.dtype, t.shape, gather(storage, t, size, numel));
  }

  close(): void {
    this.src.close();
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

/** Copies a strided view into row-major order. */
function gather(storage: Uint8Array, t: TensorRef, size: number, numel: number): Uint8Array {
  const out = new Uint8Array(numel * size);
  const idx = new Array(t.shape.length).fill(0);
  for (let n = 0; n < numel; n++) {
    let src = t.offset;
    for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
    out.set(storage.subarray(src * size, src * size + size), n * size);
    for (let d = idx.length - 1; d >= 0 && ++idx[d] === t.shape[d]; d--) idx[d] = 0;
  }
  return out;
}

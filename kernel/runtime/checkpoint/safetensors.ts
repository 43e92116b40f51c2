// safetensors: an 8-byte little-endian header length, a JSON header, then the tensor bytes.
import { DTYPE_SIZE, Tensor, type DType } from "../tensor";
import { CheckpointError } from "../errors";
import { openBytes, type ByteSource } from "./file-bytes";
import { missingKey } from "./missing-key";
import { tensorPairs, writeCheckpointFile, type Checkpoint, type TensorEntry, type TensorList } from "./types";
import * as fs from "node:fs";

const TO_ST: Record<DType, string> = {
  f32: "F32",
  f16: "F16",
  bf16: "BF16",
  f64: "F64",
  i64: "I64",
  i32: "I32",
  i16: "I16",
  i8: "I8",
  u8: "U8",
  bool: "BOOL",
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

interface StEntry {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export class SafetensorsCheckpoint implements Checkpoint {
  readonly format = "safetensors" as const;
  readonly metadata: Record<string, string> = {};
  private readonly src: ByteSource;
  private readonly entries = new Map<string, StEntry>();

  constructor(readonly path: string) {
    this.src = openBytes(path);
    try {
      this.index();
    } catch (e) {
      this.src.close();
      throw e;
    }
  }

  private index(): void {
    const { path, src } = this;
    const fail = (why: string, key?: string): never => {
      throw new CheckpointError(`not a readable safetensors file: ${why}`, path, key);
    };
    if (src.size < 8) fail("shorter than its 8-byte header length");
    const head = src.read(0, 8);
    const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
    if (8 + n > src.size) fail(`header length ${n} runs past the end of the file (${src.size} bytes)`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(src.read(8, n)));
    } catch {
      return fail("header is not JSON");
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");
    const dataStart = 8 + n;
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (typeof raw !== "object" || raw === null || Object.values(raw).some((x) => typeof x !== "string"))
          fail("__metadata__ is not a map of strings");
        Object.assign(this.metadata, raw);
        continue;
      }
      const e = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const dtype = FROM_ST[e?.dtype];
      if (!dtype) fail(`unknown dtype ${e?.dtype}`, name);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
        fail(`bad shape ${JSON.stringify(e.shape)}`, name);
      const [b, end] = e.data_offsets ?? [];
      if (!(b >= 0 && end >= b && dataStart + end <= src.size))
        fail(`data offsets [${b}, ${end}] lie outside the file`, name);
      if (end - b !== Tensor.numelOf(e.shape) * DTYPE_SIZE[dtype])
        fail(`data size ${end - b} does not match ${e.dtype}[${e.shape}]`, name);
      this.entries.set(name, { dtype, shape: e.shape, begin: dataStart + b, end: dataStart + end });
    }
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }
  has(name: string): boolean {
    return this.entries.has(name);
  }
  private get(name: string): StEntry {
    const e = this.entries.get(name);
    if (!e) throw missingKey(this.path, name, this.keys());
    return e;
  }
  entry(name: string): TensorEntry {
    const e = this.get(name);
    return { name, dtype: e.dtype, shape: [...e.shape] };
  }
  read(name: string): Tensor {
    const e = this.get(name);
    return new Tensor(e.dtype, e.shape, this.src.read(e.begin, e.end - e.begin));
  }
  close(): void {
    this.src.close();
  }
}

export function writeSafetensors(file: string, tensors: TensorList, metadata: Record<string, string> = {}): void {
  const list = tensorPairs(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    const size = Tensor.numelOf(t.shape) * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: TO_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  writeCheckpointFile(file, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, head);
    for (const [name, t] of list) {
      const data = typeof t.data === "function" ? t.data() : t.data;
      if (data.byteLength !== Tensor.numelOf(t.shape) * DTYPE_SIZE[t.dtype])
        throw new CheckpointError(`tensor bytes do not match its shape`, file, name);
      fs.writeSync(fd, data);
    }
  });
}

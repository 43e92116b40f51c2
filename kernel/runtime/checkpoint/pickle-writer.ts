// Writes the pickle torch.save produces for a dict of tensors (protocol 2, docs/spec.md §6.2), using only
// the globals torch.load(weights_only=True) accepts.
import type { DType } from "../tensor";

const STORAGE_NAMES: Record<DType, string> = {
  f32: "FloatStorage",
  f16: "HalfStorage",
  bf16: "BFloat16Storage",
  f64: "DoubleStorage",
  i64: "LongStorage",
  i32: "IntStorage",
  i16: "ShortStorage",
  i8: "CharStorage",
  u8: "ByteStorage",
  bool: "BoolStorage",
};

export interface PickledTensor {
  name: string;
  dtype: DType;
  shape: readonly number[];
  storageKey: string;
}

class Out {
  private parts: number[] = [];
  op(...b: number[]) {
    this.parts.push(...b);
  }
  text(s: string) {
    this.parts.push(...new TextEncoder().encode(s));
  }
  global(module: string, name: string) {
    this.op(0x63);
    this.text(`${module}\n${name}\n`);
  }
  unicode(s: string) {
    const b = new TextEncoder().encode(s);
    this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b);
  }
  int(n: number) {
    if (n >= 0 && n < 256) this.op(0x4b, n);
    else if (n >= 0 && n < 65536) this.op(0x4d, n & 0xff, n >> 8);
    else if (n >= -(2 ** 31) && n < 2 ** 31)
      this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
    else {
      const bytes: number[] = [];
      let x = BigInt(n);
      do {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
      } while (x !== 0n && x !== -1n);
      if ((bytes[bytes.length - 1] & 0x80) !== (n < 0 ? 0x80 : 0)) bytes.push(n < 0 ? 0xff : 0);
      this.op(0x8a, bytes.length, ...bytes);
    }
  }
  tuple(items: readonly number[]) {
    if (items.length === 0) {
      this.op(0x29);
      return;
    }
    if (items.length > 3) this.op(0x28);
    for (const i of items) this.int(i);
    this.op(items.length > 3 ? 0x74 : [0, 0x85, 0x86, 0x87][items.length]);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function pickleTensorDict(tensors: PickledTensor[], container: "dict" | "OrderedDict"): Uint8Array {
  const o = new Out();
  o.op(0x80, 2);
  if (container === "dict") o.op(0x7d);
  else {
    o.global("collections", "OrderedDict");
    o.op(0x29, 0x52);
  }
  if (tensors.length) o.op(0x28);
  for (const t of tensors) {
    o.unicode(t.name);
    o.global("torch._utils", "_rebuild_tensor_v2");
    o.op(0x28, 0x28);
    o.unicode("storage");
    o.global("torch", STORAGE_NAMES[t.dtype]);
    o.unicode(t.storageKey);
    o.unicode("cpu");
    o.int(t.shape.reduce((a, b) => a * b, 1));
    o.op(0x74, 0x51); // TUPLE, BINPERSID
    o.int(0);
    o.tuple(t.shape);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    o.tuple(stride);
    o.op(0x89); // requires_grad False
    o.global("collections", "OrderedDict");
    o.op(0x29, 0x52, 0x74, 0x52); // OrderedDict(), TUPLE, REDUCE
  }
  if (tensors.length) o.op(0x75); // SETITEMS
  o.op(0x2e);
  return o.bytes();
}

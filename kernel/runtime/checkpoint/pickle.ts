// A pickle reader for torch checkpoints that executes nothing: it builds plain values, and the few
// globals a checkpoint needs (OrderedDict, _rebuild_tensor_v2, the storage types) are an
// allowlist resolved to data descriptions. Any other global is refused by name.
import { CheckpointError } from "../errors";
import type { DType } from "../tensor";

export interface StorageRef {
  kind: "storage";
  key: string;
  dtype: DType;
  numel: number;
  location: string;
}
export interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}
interface Global {
  kind: "global";
  module: string;
  name: string;
}
class Mark {}
type PValue = unknown;

export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "f32",
  HalfStorage: "f16",
  BFloat16Storage: "bf16",
  DoubleStorage: "f64",
  LongStorage: "i64",
  IntStorage: "i32",
  ShortStorage: "i16",
  CharStorage: "i8",
  ByteStorage: "u8",
  BoolStorage: "bool",
};

function allowed(module: string, name: string): boolean {
  if (module === "collections" && name === "OrderedDict") return true;
  if (module === "torch._utils" && (name === "_rebuild_tensor_v2" || name === "_rebuild_parameter")) return true;
  return module === "torch" && name in STORAGE_DTYPES;
}

function tuple(items: PValue[]): PValue[] {
  return items;
}

function reduce(fn: PValue, args: PValue, file: string): PValue {
  const g = fn as Global;
  const a = args as PValue[];
  if (g?.kind !== "global")
    throw new CheckpointError("pickle REDUCE on something that is not an allowed callable", file);
  if (g.name === "OrderedDict") return new Map<string, PValue>();
  if (g.name === "_rebuild_tensor_v2") {
    const [storage, offset, shape, stride] = Array.isArray(a) ? a : [];
    if ((storage as StorageRef)?.kind !== "storage")
      throw new CheckpointError("_rebuild_tensor_v2 without a storage", file);
    const dims = (x: PValue) => Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (
      !Number.isSafeInteger(offset) ||
      (offset as number) < 0 ||
      !dims(shape) ||
      !dims(stride) ||
      (shape as number[]).length !== (stride as number[]).length
    ) {
      throw new CheckpointError("_rebuild_tensor_v2 with a bad storage offset, size or stride", file);
    }
    return {
      kind: "tensor",
      storage: storage as StorageRef,
      offset: offset as number,
      shape: [...(shape as number[])],
      stride: [...(stride as number[])],
    } satisfies TensorRef;
  }
  if (g.name === "_rebuild_parameter") return a[0];
  throw new CheckpointError(`pickle calls ${g.module}.${g.name}, which a checkpoint never needs`, file);
}

function persistent(pid: PValue, file: string): StorageRef {
  const t = pid as PValue[];
  if (!Array.isArray(t) || t[0] !== "storage") throw new CheckpointError("unsupported persistent id in pickle", file);
  const cls = t[1] as Global;
  const dtype = STORAGE_DTYPES[cls?.name];
  if (!dtype) throw new CheckpointError(`unknown storage type ${cls?.module}.${cls?.name}`, file);
  return { kind: "storage", key: String(t[2]), location: String(t[3]), numel: Number(t[4]), dtype };
}

export function unpickle(data: Uint8Array, file: string): PValue {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder();
  const stack: PValue[] = [];
  const memo = new Map<number, PValue>();
  let p = 0;
  const need = (n: number) => {
    if (p + n > data.length) throw new CheckpointError("pickle data ends early (truncated data.pkl)", file);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) throw new CheckpointError("pickle data ends early (truncated data.pkl)", file);
    const s = dec.decode(data.subarray(p, end));
    p = end + 1;
    return s;
  };
  const popMark = (): PValue[] => {
    for (let i = stack.length - 1; i >= 0; i--)
      if (stack[i] instanceof Mark) {
        const items = stack.splice(i);
        items.shift();
        return items;
      }
    throw new CheckpointError("pickle MARK missing", file);
  };
  const setItems = (d: PValue, kv: PValue[]) => {
    if (!(d instanceof Map)) throw new CheckpointError("pickle SETITEM on a non-dict", file);
    for (let i = 0; i + 1 < kv.length; i += 2) d.set(String(kv[i]), kv[i + 1]);
  };
  const list = (): PValue[] => {
    const top = stack[stack.length - 1];
    if (!Array.isArray(top)) throw new CheckpointError("pickle APPEND on a non-list", file);
    return top;
  };
  const str = (n: number) => {
    need(n);
    const s = dec.decode(data.subarray(p, p + n));
    p += n;
    return s;
  };
  for (;;) {
    need(1);
    const op = data[p++];
    switch (op) {
      case 0x80:
        need(1);
        p += 1;
        break; // PROTO
      case 0x95:
        need(8);
        p += 8;
        break; // FRAME
      case 0x2e:
        return stack.pop(); // STOP
      case 0x63: {
        // GLOBAL
        const module = line(),
          name = line();
        if (!allowed(module, name))
          throw new CheckpointError(
            `pickle refers to global ${module}.${name}, which is not allowed ` +
              "(only OrderedDict, torch._utils._rebuild_tensor_v2 and torch storage types are)",
            file,
          );
        stack.push({ kind: "global", module, name } satisfies Global);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = String(stack.pop()),
          module = String(stack.pop());
        if (!allowed(module, name))
          throw new CheckpointError(`pickle refers to global ${module}.${name}, which is not allowed`, file);
        stack.push({ kind: "global", module, name } satisfies Global);
        break;
      }
      case 0x71:
        need(1);
        memo.set(data[p++], stack[stack.length - 1]);
        break; // BINPUT
      case 0x72:
        need(4);
        memo.set(v.getUint32(p, true), stack[stack.length - 1]);
        p += 4;
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, stack[stack.length - 1]);
        break; // MEMOIZE
      case 0x68:
        need(1);
        stack.push(memo.get(data[p++]));
        break; // BINGET
      case 0x6a:
        need(4);
        stack.push(memo.get(v.getUint32(p, true)));
        p += 4;
        break; // LONG_BINGET
      case 0x28:
        stack.push(new Mark());
        break; // MARK
      case 0x29:
        stack.push(tuple([]));
        break; // EMPTY_TUPLE
      case 0x74:
        stack.push(tuple(popMark()));
        break; // TUPLE
      case 0x85:
        stack.push(tuple(stack.splice(-1)));
        break; // TUPLE1
      case 0x86:
        stack.push(tuple(stack.splice(-2)));
        break; // TUPLE2
      case 0x87:
        stack.push(tuple(stack.splice(-3)));
        break; // TUPLE3
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x61: {
        const x = stack.pop();
        list().push(x);
        break;
      } // APPEND
      case 0x65: {
        const xs = popMark();
        list().push(...xs);
        break;
      } // APPENDS
      case 0x7d:
        stack.push(new Map<string, PValue>());
        break; // EMPTY_DICT
      case 0x73: {
        const val = stack.pop(),
          key = stack.pop();
        setItems(stack[stack.length - 1], [key, val]);
        break;
      } // SETITEM
      case 0x75: {
        const kv = popMark();
        setItems(stack[stack.length - 1], kv);
        break;
      } // SETITEMS
      case 0x58:
        need(4);
        {
          const n = v.getUint32(p, true);
          p += 4;
          stack.push(str(n));
        }
        break; // BINUNICODE
      case 0x8c:
        need(1);
        {
          const n = data[p++];
          stack.push(str(n));
        }
        break; // SHORT_BINUNICODE
      case 0x55:
        need(1);
        {
          const n = data[p++];
          stack.push(str(n));
        }
        break; // SHORT_BINSTRING
      case 0x54:
        need(4);
        {
          const n = v.getInt32(p, true);
          p += 4;
          stack.push(str(n));
        }
        break; // BINSTRING
      case 0x43:
        need(1);
        {
          const n = data[p++];
          need(n);
          stack.push(data.slice(p, p + n));
          p += n;
        }
        break; // SHORT_BINBYTES
      case 0x42:
        need(4);
        {
          const n = v.getUint32(p, true);
          p += 4;
          need(n);
          stack.push(data.slice(p, p + n));
          p += n;
        }
        break; // BINBYTES
      case 0x4b:
        need(1);
        stack.push(data[p++]);
        break; // BININT1
      case 0x4d:
        need(2);
        stack.push(v.getUint16(p, true));
        p += 2;
        break; // BININT2
      case 0x4a:
        need(4);
        stack.push(v.getInt32(p, true));
        p += 4;
        break; // BININT
      case 0x8a: {
        // LONG1
        need(1);
        const n = data[p++];
        need(n);
        let x = 0n;
        for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) x -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(x));
        break;
      }
      case 0x47:
        need(8);
        stack.push(v.getFloat64(p, false));
        p += 8;
        break; // BINFLOAT
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x52: {
        const args = stack.pop(),
          fn = stack.pop();
        stack.push(reduce(fn, args, file));
        break;
      } // REDUCE
      case 0x51:
        stack.push(persistent(stack.pop(), file));
        break; // BINPERSID
      case 0x62:
        stack.pop();
        break; // BUILD: state (e.g. _metadata) ignored
      default:
        throw new CheckpointError(`unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1} of data.pkl`, file);
    }
  }
}

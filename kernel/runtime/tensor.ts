// A tensor as the runtime moves it between files and the addon: dtype, shape and the row-major
// little-endian bytes (often a view into a memory-mapped checkpoint, never copied needlessly).
export type DType = "f32" | "f16" | "bf16" | "f64" | "i64" | "i32" | "i16" | "i8" | "u8" | "bool";

export const DTYPE_SIZE: Record<DType, number> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  f64: 8,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u8: 1,
  bool: 1,
};

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(h: number): number {
  u32Scratch[0] = h << 16;
  return f32Scratch[0];
}

/** float32 → IEEE half bits, round to nearest even (overflow → ±inf, NaN stays NaN). */
export function f32ToF16(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0],
    sign = (u >>> 16) & 0x8000,
    e = (u >>> 23) & 0xff,
    m = u & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const he = e - 127 + 15;
  if (he >= 0x1f) return sign | 0x7c00;
  if (he <= 0) {
    if (he < -10) return sign;
    const full = m | 0x800000,
      shift = 14 - he; // subnormal half: drop `shift` bits with RNE
    const half = 1 << (shift - 1),
      rest = full & ((half << 1) - 1);
    let v = full >>> shift;
    if (rest > half || (rest === half && v & 1)) v++;
    return sign | v;
  }
  let v = (he << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && v & 1)) v++; // a carry into the exponent is still right
  return sign | v;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export class Tensor {
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: Uint8Array,
  ) {
    const want = Tensor.numelOf(shape) * DTYPE_SIZE[dtype];
    if (data.byteLength !== want)
      throw new RangeError(`tensor ${dtype}[${shape.join(",")}] needs ${want} bytes, got ${data.byteLength}`);
  }

  static numelOf(shape: readonly number[]): number {
    return shape.reduce((a, b) => a * b, 1);
  }
  get numel(): number {
    return Tensor.numelOf(this.shape);
  }

  static zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
    return new Tensor(dtype, shape, new Uint8Array(Tensor.numelOf(shape) * DTYPE_SIZE[dtype]));
  }

  /** Float values in f32, bf16 or f16 (rounded to nearest even). */
  static fromFloat32(
    values: ArrayLike<number>,
    shape: readonly number[],
    dtype: "f32" | "bf16" | "f16" = "f32",
  ): Tensor {
    const n = Tensor.numelOf(shape);
    if (values.length !== n) throw new RangeError(`${values.length} values do not fill shape [${shape.join(",")}]`);
    if (dtype === "f32") {
      const out = Float32Array.from(values);
      return new Tensor("f32", shape, new Uint8Array(out.buffer));
    }
    const out = new Uint16Array(n),
      convert = dtype === "f16" ? f32ToF16 : f32ToBf16;
    for (let i = 0; i < n; i++) out[i] = convert(values[i]);
    return new Tensor(dtype, shape, new Uint8Array(out.buffer));
  }

  /** The values as float32 (a copy, except for an aligned f32 tensor, which is viewed). */
  toFloat32(): Float32Array {
    const n = this.numel,
      d = this.data;
    if (this.dtype === "f32" && d.byteOffset % 4 === 0) return new Float32Array(d.buffer, d.byteOffset, n);
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const out = new Float32Array(n);
    switch (this.dtype) {
      case "f32":
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
        break;
      case "bf16":
        for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
        break;
      case "f16":
        for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
        break;
      case "f64":
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
        break;
      case "i64":
        for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true));
        break;
      case "i32":
        for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
        break;
      case "i16":
        for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
        break;
      case "i8":
        for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
        break;
      case "u8":
      case "bool":
        for (let i = 0; i < n; i++) out[i] = d[i];
        break;
    }
    return out;
  }
}

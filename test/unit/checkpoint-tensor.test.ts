// Tensor: byte sizes, float conversions with round-to-nearest-even, and reading every dtype back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../kernel/runtime/tensor";

const bits = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0];

test("f32 → bf16 rounds to nearest even; NaN and infinities survive", () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(bits(0x3f808000)), 0x3f80, "tie goes to even (down)");
  assert.equal(f32ToBf16(bits(0x3f818000)), 0x3f82, "tie goes to even (up)");
  assert.equal(f32ToBf16(bits(0x3f808001)), 0x3f81, "above the tie rounds up");
  assert.equal(f32ToBf16(bits(0x7f7fffff)), 0x7f80, "max float rounds to inf");
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(bits(0x7f800001)))), "NaN with low payload bits stays NaN");
});

test("f32 → f16 rounds to nearest even, with subnormals and overflow", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2.5, 0xc100],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [65519.99, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002],
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [-0, 0x8000],
    [Infinity, 0x7c00],
  ];
  for (const [x, h] of cases) assert.equal(f32ToF16(x), h, `f16(${x})`);
  for (const h of [0x0001, 0x03ff, 0x0400, 0x3555, 0x7bff, 0xc100])
    assert.equal(f32ToF16(f16ToF32(h)), h, `round trip 0x${h.toString(16)}`);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
});

test("fromFloat32 / toFloat32 for f32, bf16, f16, and every integer dtype read back", () => {
  const v = [0.5, -1.25, 3, 1024];
  for (const dtype of ["f32", "bf16", "f16"] as const) {
    const t = Tensor.fromFloat32(v, [2, 2], dtype);
    assert.equal(t.dtype, dtype);
    assert.equal(t.numel, 4);
    assert.equal(t.data.byteLength, dtype === "f32" ? 16 : 8);
    assert.deepEqual([...t.toFloat32()], v);
  }
  const ints: [Tensor["dtype"], ArrayBufferView][] = [
    ["i64", new BigInt64Array([-3n, 2n ** 40n])],
    ["i32", new Int32Array([-3, 7])],
    ["i16", new Int16Array([-3, 7])],
    ["i8", new Int8Array([-3, 7])],
    ["u8", new Uint8Array([250, 7])],
    ["f64", new Float64Array([1 / 3, -7])],
  ];
  for (const [dtype, arr] of ints) {
    const t = new Tensor(dtype, [2], new Uint8Array(arr.buffer));
    assert.deepEqual(
      [...t.toFloat32()],
      Array.from(arr as unknown as ArrayLike<number | bigint>).map((x) => Math.fround(Number(x))),
      dtype,
    );
  }
  const unaligned = new Uint8Array(9).subarray(1);
  new DataView(unaligned.buffer, 1).setFloat32(4, 2.5, true);
  assert.deepEqual(
    [...new Tensor("f32", [2], unaligned).toFloat32()],
    [0, 2.5],
    "an unaligned f32 view is copied, not misread",
  );
});

test("shape and byte length must agree; zeros and scalars", () => {
  assert.throws(() => new Tensor("bf16", [3], new Uint8Array(4)), /needs 6 bytes, got 4/);
  assert.throws(() => Tensor.fromFloat32([1, 2], [3]), /do not fill shape \[3\]/);
  const z = Tensor.zeros([2, 0, 3], "bf16");
  assert.equal(z.numel, 0);
  const s = Tensor.fromFloat32([7], []);
  assert.equal(s.numel, 1);
  assert.deepEqual([...Tensor.zeros([3], "f16").toFloat32()], [0, 0, 0]);
});

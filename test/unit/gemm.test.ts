// rwkv::matmul (native/src/cpu/gemm*.cc, gemv.cc) against a float64 product of the same
// operands, on random shapes covering both kernels (GEMV for ≤ 8 rows, packed GEMM above), ragged
// edges, strides, bf16/f16/f32 B, both B layouts, beta 0/1 and several thread counts, on every
// SIMD path this CPU supports; bf16 compute against the float64 product of the bf16-rounded
// operands; plus the mmapFile binding.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NativeDType } from "../../kernel/runtime/native";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "../../kernel/runtime/tensor";
import { addonWith } from "../helpers/native";
import { forEachSimdPath } from "../helpers/simd";

const { addon: A, skip: skipNative } = addonWith("matmul");

/** Deterministic uniform(-1, 1) numbers (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** A random finite f16 in about (-2, 2), as raw bits. */
const f16Bits = (r: () => number): number =>
  (r() < 0 ? 0x8000 : 0) | ((13 + Math.floor((r() + 1) * 1.5)) << 10) | Math.floor((r() + 1) * 511);

interface Case {
  m: number;
  n: number;
  k: number;
  transB: boolean;
  bType: NativeDType;
  pad: number;
  beta: 0 | 1;
}

interface Operands {
  a: Float32Array;
  b: Float32Array | Uint16Array;
  bv: Float64Array;
  c0: Float32Array;
  lda: number;
  ldb: number;
  ldc: number;
}

function operands(c: Case, seed: number): Operands {
  const r = rng(seed);
  const lda = c.k + c.pad,
    ldb = (c.transB ? c.k : c.n) + c.pad,
    ldc = c.n + c.pad;
  const a = Float32Array.from({ length: Math.max(1, c.m * lda) }, r);
  const bLen = Math.max(1, (c.transB ? c.n : c.k) * ldb);
  let b: Float32Array | Uint16Array;
  let bv: Float64Array;
  if (c.bType === "f32") {
    b = Float32Array.from({ length: bLen }, r);
    bv = Float64Array.from(b);
  } else if (c.bType === "bf16") {
    b = Uint16Array.from({ length: bLen }, () => f32ToBf16(r()));
    bv = Float64Array.from(b, bf16ToF32);
  } else {
    b = Uint16Array.from({ length: bLen }, () => f16Bits(r));
    bv = Float64Array.from(b, f16ToF32);
  }
  const c0 = Float32Array.from({ length: Math.max(1, c.m * ldc) }, r);
  return { a, b, bv, c0, lda, ldb, ldc };
}

/**
 * Checks got against the float64 product. Bound per element: 2·K·eps32·Σ|a·b| (+ the rounding
 * of C itself) — far below any indexing mistake, whose error is of the order of Σ|a·b|.
 */
function check(label: string, c: Case, o: Operands, got: Float32Array): void {
  const eps = 2 ** -24;
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let s = 0,
        mag = 0;
      for (let p = 0; p < c.k; p++) {
        const t = o.a[i * o.lda + p] * o.bv[c.transB ? j * o.ldb + p : p * o.ldb + j];
        s += t;
        mag += Math.abs(t);
      }
      const prev = o.c0[i * o.ldc + j];
      const want = c.beta ? prev + s : s;
      const tol = 2 * (c.k + 1) * eps * (mag + Math.abs(prev)) + 1e-30;
      const g = got[i * o.ldc + j];
      if (!(Math.abs(g - want) <= tol))
        assert.fail(`${label} ${JSON.stringify(c)}: C[${i},${j}] = ${g}, want ${want} (tolerance ${tol})`);
    }
    for (let j = c.n; j < o.ldc && i * o.ldc + j < got.length; j++)
      assert.equal(
        got[i * o.ldc + j],
        o.c0[i * o.ldc + j],
        `${label} ${JSON.stringify(c)}: padding C[${i},${j}] was written`,
      );
  }
}

function run(c: Case, o: Operands, impl: "fast" | "reference", precision: "f32" | "bf16" = "f32"): Float32Array {
  const out = o.c0.slice();
  A!.matmul({
    m: c.m,
    n: c.n,
    k: c.k,
    a: o.a,
    lda: o.lda,
    b: o.b,
    bType: c.bType,
    ldb: o.ldb,
    transB: c.transB,
    c: out,
    ldc: o.ldc,
    beta: c.beta,
    impl,
    precision,
  });
  return out;
}

function randomCases(seed: number, count: number, maxM: number, maxN: number, maxK: number): Case[] {
  const r = rng(seed),
    pick = (n: number) => Math.floor(((r() + 1) / 2) * n);
  const types: NativeDType[] = ["f32", "bf16", "f16"];
  return Array.from({ length: count }, (_, i) => ({
    m: 1 + pick(maxM),
    n: 1 + pick(maxN),
    k: pick(maxK),
    transB: i % 2 === 0,
    bType: types[i % 3],
    pad: pick(3) * 3,
    beta: pick(2) as 0 | 1,
  }));
}

test("matmul: GEMV path (1..8 rows) matches float64 on random shapes, on every SIMD path", { skip: skipNative }, () =>
  forEachSimdPath(() =>
    randomCases(1, 60, 8, 150, 400).forEach((c, i) => {
      const o = operands(c, 100 + i);
      check("fast", c, o, run(c, o, "fast"));
      check("reference", c, o, run(c, o, "reference"));
    }),
  ),
);

test("matmul: packed path matches float64 on random ragged shapes, on every SIMD path", { skip: skipNative }, () =>
  forEachSimdPath(() =>
    randomCases(2, 40, 80, 90, 600).forEach((c, i) => {
      const o = operands(c, 200 + i);
      check("fast", c, o, run(c, o, "fast"));
    }),
  ),
);

// The largest blocks are avx512's: MC = 168 rows, KC = 768 (1536 for bf16 compute), NC = 2048.
const bigCases: Case[] = [
  { m: 301, n: 2065, k: 9, transB: true, bType: "bf16", pad: 1, beta: 1 },
  { m: 157, n: 35, k: 530, transB: false, bType: "f32", pad: 0, beta: 0 },
  { m: 20, n: 2100, k: 270, transB: false, bType: "f16", pad: 2, beta: 0 },
  { m: 190, n: 70, k: 1701, transB: true, bType: "bf16", pad: 1, beta: 1 },
  { m: 33, n: 97, k: 1601, transB: false, bType: "bf16", pad: 0, beta: 0 },
  { m: 45, n: 40, k: 2000, transB: true, bType: "f32", pad: 3, beta: 1 },
];

test("matmul: blocks larger than the cache blocking (M > MC, N > NC, K > KC)", { skip: skipNative }, () =>
  forEachSimdPath(() =>
    bigCases.forEach((c, i) => {
      const o = operands(c, 300 + i);
      check("fast", c, o, run(c, o, "fast"));
    }),
  ),
);

test("matmul: K = 0 writes beta·C, and M or N = 0 writes nothing", { skip: skipNative }, () =>
  forEachSimdPath(() => {
    for (const m of [3, 40])
      for (const beta of [0, 1] as const)
        for (const precision of ["f32", "bf16"] as const) {
          const c: Case = { m, n: 17, k: 0, transB: true, bType: "bf16", pad: 0, beta };
          const o = operands(c, 7);
          check("fast", c, o, run(c, o, "fast", precision));
        }
    const c: Case = { m: 0, n: 5, k: 4, transB: false, bType: "f32", pad: 0, beta: 0 };
    const o = operands(c, 8);
    assert.deepEqual(run(c, o, "fast"), o.c0);
  }),
);

test("matmul: results do not depend on the thread count, on every SIMD path", { skip: skipNative }, () => {
  const before = A!.info().threads;
  const cases: Array<Case & { precision?: "bf16" }> = [
    { m: 4, n: 3000, k: 768, transB: true, bType: "bf16", pad: 0, beta: 0 },
    { m: 2, n: 1000, k: 64, transB: false, bType: "f32", pad: 0, beta: 1 },
    { m: 64, n: 768, k: 300, transB: true, bType: "f32", pad: 0, beta: 0 },
    { m: 300, n: 40, k: 300, transB: false, bType: "bf16", pad: 0, beta: 1 },
    { m: 5, n: 1100, k: 77, transB: false, bType: "bf16", pad: 0, beta: 1, precision: "bf16" },
    { m: 3, n: 999, k: 130, transB: true, bType: "bf16", pad: 0, beta: 0, precision: "bf16" },
    { m: 100, n: 700, k: 301, transB: false, bType: "bf16", pad: 0, beta: 0, precision: "bf16" },
    { m: 700, n: 100, k: 301, transB: true, bType: "bf16", pad: 0, beta: 1, precision: "bf16" },
  ];
  return forEachSimdPath(() => {
    try {
      for (const [i, c] of cases.entries()) {
        const o = operands(c, 400 + i);
        const results = [1, 2, 3].map((t) => {
          A!.setThreads(t);
          return run(c, o, "fast", c.precision);
        });
        if (!c.precision) check("1 thread", c, o, results[0]);
        assert.deepEqual(results[1], results[0], `${JSON.stringify(c)}: 2 threads differ from 1`);
        assert.deepEqual(results[2], results[0], `${JSON.stringify(c)}: 3 threads differ from 1`);
      }
    } finally {
      A!.setThreads(before);
    }
  });
});

/** The operands with A rounded to bf16: what bf16 compute multiplies. */
const roundedA = (o: Operands): Operands => ({ ...o, a: o.a.map((x) => bf16ToF32(f32ToBf16(x))) });

// bf16 compute multiplies bf16 A (rounded to nearest even) by bf16 B: each product is exact in
// fp32 (8-bit × 8-bit significands), and the fp32 sums (vdpbf16ps adds a pair of products per
// lane and step) round at most K + 1 times, so the error against the float64 product of the rounded
// operands has the same bound as fp32 compute's: 2·(K+1)·2⁻²⁴·(Σ|a·b| + |C|). (Denormals, which
// vdpbf16ps flushes, cannot occur in this data: |a|, |b| ≥ 2⁻³² or 0.) Where bf16 compute does not
// apply (f32/f16 B, a path without AVX512_BF16) the product is fp32's, with A unrounded.
test("matmul: bf16 compute matches float64 of the bf16-rounded operands, GEMV and packed", { skip: skipNative }, () =>
  forEachSimdPath(() => {
    const bf16 = A!.info().bf16Compute;
    const cases = [
      ...randomCases(5, 30, 8, 150, 300),
      ...randomCases(6, 30, 80, 100, 500),
      ...bigCases,
      { m: 40, n: 33, k: 1, transB: false, bType: "bf16", pad: 0, beta: 1 } as Case,
      { m: 2, n: 33, k: 1, transB: true, bType: "bf16", pad: 0, beta: 0 } as Case,
    ];
    let differs = 0;
    cases.forEach((c, i) => {
      const o = operands(c, 500 + i),
        got = run(c, o, "fast", "bf16");
      const rounded = bf16 && c.bType === "bf16";
      check(rounded ? "bf16 compute" : "bf16 compute (fp32 fallback)", c, rounded ? roundedA(o) : o, got);
      if (rounded && got.some((x, j) => x !== run(c, o, "fast")[j])) differs++;
    });
    // The bf16 kernels ran: A's rounding shows in the results of (almost) every bf16 case.
    if (bf16) assert.ok(differs >= cases.filter((c) => c.bType === "bf16" && c.k > 0).length - 2, `${differs}`);
  }),
);

test("matmul: arguments that do not fit are rejected with the argument's name", { skip: skipNative }, () => {
  const a = new Float32Array(6),
    b = new Float32Array(6),
    c = new Float32Array(3);
  assert.throws(() => A!.matmul({ m: 2, n: 2, k: 3, a, b, transB: true, c }), /matmul: c .*needs 4/);
  assert.throws(
    () => A!.matmul({ m: 2, n: 2, k: 3, a: a.subarray(1), b, transB: true, c: new Float32Array(4) }),
    /matmul: a/,
  );
  assert.throws(() => A!.matmul({ m: 1, n: 2, k: 3, a, b, bType: "bf16", transB: true, c }), /Uint16Array/);
  assert.throws(() => A!.matmul({ m: 1, n: 2, k: 3, a, b, transB: true, c, lda: 2 }), /lda/);
});

test("mmapFile maps a file's bytes, copy-on-write, and names the file on errors", { skip: skipNative }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-mmap-"));
  try {
    const file = path.join(dir, "x.bin");
    const bytes = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 255);
    fs.writeFileSync(file, bytes);
    const buf = A!.mmapFile(file);
    assert.equal(buf.byteLength, bytes.length);
    const view = new Uint8Array(buf);
    assert.deepEqual(view, bytes);
    view[0] = 99; // private mapping: the file keeps its bytes
    assert.equal(fs.readFileSync(file)[0], 0);

    const empty = path.join(dir, "empty.bin");
    fs.writeFileSync(empty, "");
    assert.equal(A!.mmapFile(empty).byteLength, 0);

    const missing = path.join(dir, "missing.pth");
    assert.throws(
      () => A!.mmapFile(missing),
      (e: Error) => e.message.includes(missing) && /No such file/.test(e.message),
    );
    assert.throws(
      () => A!.mmapFile(dir),
      (e: Error) => e.message.includes(dir) && /not a regular file/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// rwkv::matmul (native/src/cpu/gemm*.cc, gemv.cc) against a float64 product of the same
// operands, on random shapes covering both paths (GEMV for ≤ 8 rows, packed GEMM above), ragged
// edges, strides, bf16/f16/f32 B, both B layouts, beta 0/1 and several thread counts; plus the
// mmapFile binding.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NativeDType } from "../../kernel/runtime/native";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "../../kernel/runtime/tensor";
import { addonWith } from "../helpers/native";

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

function run(c: Case, o: Operands, impl: "fast" | "reference"): Float32Array {
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

test("matmul: GEMV path (1..8 rows) matches float64 on random shapes", { skip: skipNative }, () => {
  randomCases(1, 60, 8, 150, 400).forEach((c, i) => {
    const o = operands(c, 100 + i);
    check("fast", c, o, run(c, o, "fast"));
    check("reference", c, o, run(c, o, "reference"));
  });
});

test("matmul: packed path matches float64 on random ragged shapes", { skip: skipNative }, () => {
  randomCases(2, 40, 80, 90, 600).forEach((c, i) => {
    const o = operands(c, 200 + i);
    check("fast", c, o, run(c, o, "fast"));
  });
});

test("matmul: blocks larger than the cache blocking (M > MC, N > NC, K > KC)", { skip: skipNative }, () => {
  const cases: Case[] = [
    { m: 301, n: 2065, k: 9, transB: true, bType: "bf16", pad: 1, beta: 1 },
    { m: 157, n: 35, k: 530, transB: false, bType: "f32", pad: 0, beta: 0 },
    { m: 20, n: 2100, k: 270, transB: false, bType: "f16", pad: 2, beta: 0 },
  ];
  cases.forEach((c, i) => {
    const o = operands(c, 300 + i);
    check("fast", c, o, run(c, o, "fast"));
  });
});

test("matmul: K = 0 writes beta·C, and M or N = 0 writes nothing", { skip: skipNative }, () => {
  for (const m of [3, 40])
    for (const beta of [0, 1] as const) {
      const c: Case = { m, n: 17, k: 0, transB: true, bType: "f32", pad: 0, beta };
      const o = operands(c, 7);
      check("fast", c, o, run(c, o, "fast"));
    }
  const c: Case = { m: 0, n: 5, k: 4, transB: false, bType: "f32", pad: 0, beta: 0 };
  const o = operands(c, 8);
  assert.deepEqual(run(c, o, "fast"), o.c0);
});

test("matmul: results do not depend on the thread count", { skip: skipNative }, () => {
  const before = A!.info().threads;
  const cases: Case[] = [
    { m: 4, n: 3000, k: 768, transB: true, bType: "bf16", pad: 0, beta: 0 },
    { m: 2, n: 1000, k: 64, transB: false, bType: "f32", pad: 0, beta: 1 },
    { m: 64, n: 768, k: 300, transB: true, bType: "f32", pad: 0, beta: 0 },
    { m: 300, n: 40, k: 300, transB: false, bType: "bf16", pad: 0, beta: 1 },
  ];
  try {
    for (const [i, c] of cases.entries()) {
      const o = operands(c, 400 + i);
      const results = [1, 2, 3].map((t) => {
        A!.setThreads(t);
        return run(c, o, "fast");
      });
      check("1 thread", c, o, results[0]);
      assert.deepEqual(results[1], results[0], `${JSON.stringify(c)}: 2 threads differ from 1`);
      assert.deepEqual(results[2], results[0], `${JSON.stringify(c)}: 3 threads differ from 1`);
    }
  } finally {
    A!.setThreads(before);
  }
});

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

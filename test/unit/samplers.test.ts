// Samplers (docs/spec.md §3.7) and the magic prime (§5.2): PEFT pad masking and document order,
// uniform offsets, the magic-prime slot permutation, and resume from saved state.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Dataset,
  createSampler,
  isPrime,
  magicPrime,
  magicPrimeStart,
  nextBatch,
  type Sampler,
} from "../../kernel/runtime/data";

/** Documents of lengths `lens`: doc i holds (i+1)·1000 + j, then the end token 0. */
function dataset(lens: number[]): Dataset {
  return Dataset.fromDocs(
    lens.map((n, i) => Array.from({ length: n }, (_, j) => (j === n - 1 ? 0 : (i + 1) * 1000 + j))),
  );
}
const docOf = (firstToken: number): number => Math.floor(firstToken / 1000) - 1;

const draw = (s: Sampler, n: number): Array<{ tokens: number[]; validTargets: number }> =>
  Array.from({ length: n }, () => {
    const x = s.next();
    return { tokens: Array.from(x.tokens), validTargets: x.validTargets };
  });

test("magic prime: the spec's LM example and make_data.py's scan definition on several sizes", () => {
  assert.equal(magicPrime(1_498_226_207, 512), 2_926_181);
  assert.equal(magicPrime(1_498_226_207, 4096), 365_759);
  const bruteForce = (size: number, ctx: number): number | null => {
    if (size < 3 * ctx) return null;
    for (let i = Math.floor(size / ctx) - 1; i > 0; i--) {
      let prime = i > 1;
      for (let d = 2; d * d <= i; d++)
        if (i % d === 0) {
          prime = false;
          break;
        }
      if (prime && i % 3 === 2) return i;
    }
    return null;
  };
  for (const [size, ctx] of [
    [1000, 10],
    [54, 4],
    [40320 * 512 + 7, 512],
    [12_345_678, 1024],
    [3 * 512, 512],
    [3 * 512 - 1, 512],
    [99_999, 7],
  ]) {
    const p = magicPrime(size, ctx);
    assert.equal(p, bruteForce(size, ctx), `size ${size} ctx ${ctx}`);
    if (p !== null) {
      assert.ok(isPrime(p) && p % 3 === 2 && p < size / ctx);
    }
  }
  assert.equal(magicPrime(100, 64), null);
});

test("magic-prime sampler visits every ctx_len slot exactly once per pass", () => {
  const ctx = 8;
  const ds = Dataset.fromDocs([Array.from({ length: 8 * 60 + 5 }, (_, i) => i + 1)]);
  const p = magicPrime(ds.tokenCount, ctx)!;
  assert.equal(p, 59);
  const s = createSampler(ds, { kind: "magic-prime", ctxLen: ctx, microBsz: 1, seed: 0 });
  const starts = draw(s, p).map((x) => {
    assert.equal(x.validTargets, ctx);
    assert.equal(x.tokens.length, ctx + 1);
    return x.tokens[0] - 1;
  });
  assert.deepEqual(
    [...starts].sort((a, b) => a - b),
    Array.from({ length: p }, (_, i) => i * ctx),
  );
  // the reference formula: n = 1 + k, start = ((⌊p·(√5−1)/2⌋ · n³) mod p) · ctx_len
  assert.equal(starts[0], ((Math.floor(p * ((Math.sqrt(5) - 1) / 2)) * 1) % p) * ctx);
  assert.equal(magicPrimeStart(2_926_181, 2_926_181, 512), 0); // n ≡ 0 (mod p)
  assert.equal(magicPrimeStart(1 + 2_926_181, 2_926_181, 512), magicPrimeStart(1, 2_926_181, 512)); // period p
});

test("pad sampler: each epoch is a permutation of the first epoch_steps·micro_bsz documents, −100 past the document", () => {
  const lens = [3, 10, 5, 7, 2, 12, 4, 6];
  const ds = dataset(lens);
  const ctx = 6;
  const s = createSampler(ds, { kind: "pad", ctxLen: ctx, microBsz: 2, epochSteps: 3, seed: 7 });
  assert.equal(s.samplesPerEpoch, 6);
  const epochDocs: number[][] = [[], []];
  for (let e = 0; e < 2; e++) {
    for (const x of draw(s, 6)) {
      const d = docOf(x.tokens[0]);
      assert.deepEqual(x.tokens, Array.from(ds.slice(ds.docStart(d), ctx + 1)));
      epochDocs[e].push(d);
      assert.equal(x.tokens.length, ctx + 1);
      assert.equal(x.validTargets, Math.min(lens[d], ctx + 1) - 1);
      // the last valid target is the document's end token 0 when the document fits
      if (lens[d] <= ctx) assert.equal(x.tokens[x.validTargets], 0);
    }
    assert.deepEqual([...epochDocs[e]].sort(), [0, 1, 2, 3, 4, 5]);
  }
  assert.notDeepEqual(epochDocs[0], epochDocs[1]);
  assert.throws(
    () => createSampler(ds, { kind: "pad", ctxLen: ctx, microBsz: 3, epochSteps: 3, seed: 1 }),
    /9 samples need that many documents, the data has 8/,
  );
});

test("pad sampler: a document near the end of the data continues from the start of the data", () => {
  const ds = Dataset.fromDocs([
    [1, 2, 0],
    [3, 0],
  ]);
  const s = createSampler(ds, { kind: "pad", ctxLen: 4, microBsz: 1, seed: 3 });
  const xs = draw(s, 2);
  const last = xs.find((x) => x.tokens[0] === 3)!;
  assert.deepEqual(last.tokens, [3, 0, 1, 2, 0]);
  assert.equal(last.validTargets, 1);
});

test("random sampler: offsets in 0..data_size−ctx_len−2, all reached, deterministic per seed", () => {
  const n = 40,
    ctx = 5;
  const ds = Dataset.fromDocs([Array.from({ length: n }, (_, i) => i + 1)]);
  const s = createSampler(ds, { kind: "random", ctxLen: ctx, microBsz: 1, seed: 11 });
  const starts = draw(s, 2000).map((x) => {
    assert.equal(x.validTargets, ctx);
    assert.deepEqual(
      x.tokens,
      Array.from({ length: ctx + 1 }, (_, j) => x.tokens[0] + j),
    );
    return x.tokens[0] - 1;
  });
  assert.equal(Math.min(...starts), 0);
  assert.equal(Math.max(...starts), n - ctx - 2);
  assert.equal(new Set(starts).size, n - ctx - 1);
  const again = createSampler(ds, { kind: "random", ctxLen: ctx, microBsz: 1, seed: 11 });
  assert.deepEqual(
    draw(again, 5).map((x) => x.tokens[0] - 1),
    starts.slice(0, 5),
  );
  const other = createSampler(ds, { kind: "random", ctxLen: ctx, microBsz: 1, seed: 12 });
  assert.notDeepEqual(
    draw(other, 20).map((x) => x.tokens[0] - 1),
    starts.slice(0, 20),
  );
});

test("sampler state round-trips through JSON and resumes the exact sequence", () => {
  const ds = dataset([4, 9, 3, 8, 5, 6, 7, 2, 10, 3]);
  for (const kind of ["pad", "random", "magic-prime"] as const) {
    const opts = { kind, ctxLen: 3, microBsz: 2, seed: 5 };
    const a = createSampler(ds, opts);
    draw(a, 7);
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const expected = draw(a, 9);
    const b = createSampler(ds, opts);
    b.setState(saved);
    assert.deepEqual(draw(b, 9), expected, kind);
    assert.throws(() => createSampler(ds, { ...opts, seed: 6 }).setState(saved), /sampler state is for/);
  }
});

test("samplers refuse data shorter than ctx_len+1 tokens", () => {
  const ds = Dataset.fromDocs([[1, 2, 0]]);
  assert.throws(
    () => createSampler(ds, { kind: "random", ctxLen: 3, microBsz: 1, seed: 0 }),
    /3 tokens, fewer than ctx_len\+1 = 4/,
  );
});

test("nextBatch: [batch, T] inputs and shifted targets, −100 past each sample's valid targets", () => {
  const ds = Dataset.fromDocs([
    [1, 2, 0],
    [3, 4, 5, 6, 7, 0],
  ]);
  const s = createSampler(ds, { kind: "pad", ctxLen: 4, microBsz: 2, seed: 0 });
  const b = nextBatch(s, 2);
  assert.equal(b.batch, 2);
  assert.equal(b.T, 4);
  const rows = [0, 1].map((i) => ({
    x: Array.from(b.inputs.subarray(i * 4, i * 4 + 4)),
    y: Array.from(b.targets.subarray(i * 4, i * 4 + 4)),
  }));
  const short = rows.find((r) => r.x[0] === 1)!,
    long = rows.find((r) => r.x[0] === 3)!;
  assert.deepEqual(short, { x: [1, 2, 0, 3], y: [2, 0, -100, -100] });
  assert.deepEqual(long, { x: [3, 4, 5, 6], y: [4, 5, 6, 7] });
  assert.equal(b.nTargets, 6);
});

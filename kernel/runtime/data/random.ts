// Seeded randomness for shuffles and samplers: a stream is fully determined by (seed, stream id),
// so sampler state for resume is just counters, never generator internals.

/** mulberry32 generator in [0, 1), seeded from a hash of (seed, stream). */
export function seededRandom(seed: number, stream = 0): () => number {
  let s = hash32(hash32(seed >>> 0) ^ Math.imul(stream >>> 0, 0x85ebca6b)) ^ hash32(Math.floor(stream / 2 ** 32));
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n) with 53 bits of randomness (n may exceed 2^32). */
export function randomIndex(rand: () => number, n: number): number {
  const hi = Math.floor(rand() * 2 ** 21);
  const lo = Math.floor(rand() * 2 ** 32);
  return Math.floor(((hi * 2 ** 32 + lo) / 2 ** 53) * n);
}

function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Fisher–Yates shuffle of `a` in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** The permutation 0..n-1 shuffled by stream (seed, stream). */
export function seededPermutation(n: number, seed: number, stream: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, seededRandom(seed, stream));
}

// The few reductions the TypeScript side computes itself (the heavy math is native): norms and
// softmax pieces, in float64 and shifted by the maximum so nothing overflows.

/** Euclidean norm of the values (float64 sum of squares). */
export function l2Norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** ‖a − b‖ / ‖b‖ in float64: how far `a` is from `b`, relative to `b`. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

function maxOf(x: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  return max;
}

/** log Σ exp(x[i]): the normaliser of a softmax over logits. */
export function logSumExp(x: ArrayLike<number>): number {
  const max = maxOf(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  return max + Math.log(s);
}

/** Unnormalised softmax weights exp((x[i] − max) / temperature) into `out`; returns their sum. */
export function softmaxWeights(x: ArrayLike<number>, temperature: number, out: Float64Array): number {
  const max = maxOf(x);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp((x[i] - max) / temperature);
    sum += out[i];
  }
  return sum;
}

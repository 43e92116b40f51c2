// Teacher distributions for the native soft-target loss (NativeSoftTargets): from a teacher's
// logits, the whole distribution for a small vocabulary, else its k most likely ids with their
// probabilities and the rest of the mass as one class. Each row's entropy over those classes comes
// along, because the loss the head reports is the cross entropy: KL = CE − H.
import type { NativeSoftTargets } from "../native";

/** Soft targets with the teacher's entropy per row (over the same classes the loss uses). */
export interface TeacherTargets extends NativeSoftTargets {
  rows: number;
  entropy: Float64Array;
}

/** The k largest entries of a row (indices, any order), by a min-heap of size k. */
function topK(row: Float32Array, k: number): Int32Array {
  const heap = new Int32Array(k);
  let n = 0;
  const less = (i: number, j: number) => row[heap[i]] < row[heap[j]];
  const swap = (i: number, j: number) => {
    const t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < n && less(l, m)) m = l;
      if (r < n && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let v = 0; v < row.length; v++) {
    if (n < k) {
      heap[n] = v;
      for (let i = n++; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    } else if (row[v] > row[heap[0]]) {
      heap[0] = v;
      down(0);
    }
  }
  return heap.slice(0, n);
}

/** Targets from teacher logits [rows, V]: dense when k ≥ V, else the top k per row plus the rest. */
export function teacherTargets(logits: Float32Array, V: number, k: number): TeacherTargets {
  const rows = logits.length / V;
  const dense = k >= V;
  const K = dense ? V : k;
  const probs = new Float32Array(rows * K),
    ids = dense ? undefined : new Int32Array(rows * K),
    entropy = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const z = logits.subarray(r * V, (r + 1) * V);
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (z[v] > mx) mx = z[v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(z[v] - mx);
    const lse = mx + Math.log(sum);
    const pick = dense ? undefined : topK(z, K);
    let h = 0,
      listed = 0;
    for (let j = 0; j < K; j++) {
      const v = pick ? pick[j] : j;
      const lp = z[v] - lse,
        p = Math.exp(lp);
      probs[r * K + j] = p;
      if (ids) ids[r * K + j] = v;
      if (p > 0) h -= p * lp;
      listed += p;
    }
    const rest = Math.max(0, 1 - listed);
    if (rest > 0) h -= rest * Math.log(rest);
    entropy[r] = h;
  }
  return { k: K, probs, ids, rows, entropy };
}

/** Rows [from, from + n) of targets, for batching continuations. */
export function targetRows(t: TeacherTargets, from: number, n: number): TeacherTargets {
  const { k } = t;
  return {
    k,
    rows: n,
    probs: t.probs.subarray(from * k, (from + n) * k),
    ids: t.ids?.subarray(from * k, (from + n) * k),
    entropy: t.entropy.subarray(from, from + n),
  };
}

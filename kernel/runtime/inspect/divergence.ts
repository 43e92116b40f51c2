// How far one next-token distribution is from another, position by position: KL(p ‖ q) in nats
// over the whole vocabulary (float64, from logits), and whether both put the same token on top.
// Prompt compilation measures its fidelity with it; the persistence probe follows a tuned state's
// effect along a text with it.
import { logSumExp } from "../math";

export interface Divergence {
  /** kl[t] = KL(p_t ‖ q_t) in nats. */
  kl: Float64Array;
  /** top1[t] = 1 when both distributions' most likely token is the same. */
  top1: Uint8Array;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Per position KL(p ‖ q) of two [T,V] logit arrays (p: the reference, e.g. the prompted model). */
export function divergence(p: Float32Array, q: Float32Array, V: number): Divergence {
  const T = p.length / V;
  if (q.length !== p.length || !Number.isInteger(T))
    throw new RangeError(`logits of ${p.length} and ${q.length} numbers are not two [T, ${V}] arrays`);
  const kl = new Float64Array(T),
    top1 = new Uint8Array(T);
  for (let t = 0; t < T; t++) {
    const a = p.subarray(t * V, (t + 1) * V),
      b = q.subarray(t * V, (t + 1) * V);
    const la = logSumExp(a),
      lb = logSumExp(b);
    let s = 0;
    for (let v = 0; v < V; v++) {
      const lpa = a[v] - la;
      s += Math.exp(lpa) * (lpa - (b[v] - lb));
    }
    kl[t] = Math.max(0, s);
    top1[t] = argmax(a) === argmax(b) ? 1 : 0;
  }
  return { kl, top1 };
}

// Next-token sampling: temperature, top-k and nucleus (top-p) over softmax probabilities, driven by
// a seeded generator so a run is repeatable.
import { seededRandom } from "../data/random";
import { softmaxWeights } from "../math";
import { checkOptions, is, type Spec } from "../check";

export interface SamplingOptions {
  temperature: number;
  topP: number;
  topK: number;
}

/** The checks of the sampling options (temperature 0 = greedy, topK 0 = off). */
export const SAMPLING_OPTIONS: Spec = {
  temperature: is.number(0),
  topP: is.number(0, 1, { min: true }),
  topK: is.int(0),
};

export function checkSampling(o: Partial<SamplingOptions>): void {
  checkOptions("sampling", o, SAMPLING_OPTIONS);
}

/** A uniform [0,1) stream; seeded when a seed is given, else from the clock. */
export function samplerRandom(seed?: number): () => number {
  return seededRandom(seed ?? Math.floor(Math.random() * 2 ** 32), 0x5a3d);
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Ids by descending probability (ties by id), enough of them for the top-k/top-p walk: only ids
 * with p ≥ τ are sorted, τ lowered until they hold topP of the mass or `limit` ids, so a
 * 65536-entry vocabulary is not sorted for every token.
 */
function candidates(p: Float64Array, sum: number, limit: number, topP: number): number[] {
  let max = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > max) max = p[i];
  for (let tau = max / 2; ; tau /= 4) {
    const ids: number[] = [];
    let mass = 0;
    for (let i = 0; i < p.length; i++)
      if (p[i] >= tau) {
        ids.push(i);
        mass += p[i];
      }
    if (mass >= topP * sum || ids.length >= limit || tau === 0 || ids.length === p.length) {
      return ids.sort((a, b) => p[b] - p[a] || a - b);
    }
    if (tau < Number.MIN_VALUE * 4) tau = 0;
  }
}

/** Picks a token id from logits [V]. temperature 0 = greedy. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rand: () => number): number {
  if (o.temperature === 0 || o.topK === 1) return argmax(logits);
  const V = logits.length;
  const p = new Float64Array(V);
  const sum = softmaxWeights(logits, o.temperature, p);
  const limit = o.topK > 0 ? Math.min(o.topK, V) : V;
  if (limit === V && o.topP >= 1) {
    // no cut: draw from the whole distribution, no ordering needed
    let r = rand() * sum;
    for (let i = 0; i < V; i++) {
      r -= p[i];
      if (r < 0) return i;
    }
    return V - 1;
  }
  const order = candidates(p, sum, limit, o.topP);
  let kept = 0,
    mass = 0;
  while (kept < order.length && kept < limit) {
    mass += p[order[kept]] / sum;
    kept++;
    if (mass >= o.topP) break;
  }
  let r = rand() * mass * sum;
  for (let j = 0; j < kept; j++) {
    r -= p[order[j]];
    if (r < 0) return order[j];
  }
  return order[kept - 1];
}

// How the tuned state moved during a run, from the tuner's kept snapshots: every head's norm and its
// distance from the final state at each kept step, and the full matrices of some heads at some steps
// (what a slider over the steps shows). The matrices are bounded by a budget of numbers, because a
// figure carries them all: when not every head fits, the heads that changed most are chosen.
import { checkOptions, is } from "../check";
import { l2Norm } from "../math";
import type { State } from "../model/state";

/** What the evolution reads from a tuner (a Tuner is one). */
export interface SnapshotSource {
  readonly keptSteps: number[];
  at(step: number): State;
}

export interface HeadRef {
  layer: number;
  head: number;
}

export interface StateEvolution {
  nLayer: number;
  nHead: number;
  headSize: number;
  /** The kept steps, ascending (the last is the tuner's current step). */
  steps: number[];
  /** norms[l·H + h][k]: Frobenius norm of layer l, head h after steps[k]. */
  norms: number[][];
  /** fromFinal[l·H + h][k]: ‖S(steps[k]) − S(final)‖ of that head. */
  fromFinal: number[][];
  /** Heads whose matrices are kept, in layer/head order. */
  heads: HeadRef[];
  /** The steps whose matrices are kept: evenly spread, first and last included. */
  frameSteps: number[];
  /** matrices[i][f]: heads[i]'s N×N matrix ([value][key]) after frameSteps[f]. */
  matrices: Float32Array[][];
}

export interface EvolutionOptions {
  /** At most this many steps with full matrices (default 25; at least 12 while heads are left out). */
  maxFrames?: number;
  /** At most this many numbers of matrices in all (default 500 000): fewer heads, then fewer frames. */
  maxValues?: number;
  /** The heads to keep matrices of (default: all that fit, those that changed most first). */
  heads?: HeadRef[];
}

const MIN_FRAMES = 12;

const OPTIONS = {
  maxFrames: is.int(2),
  maxValues: is.int(1),
  heads: is.arrayOf((h) => {
    const r = h as HeadRef;
    return typeof h === "object" && h !== null && Number.isInteger(r.layer) && Number.isInteger(r.head)
      ? undefined
      : "bad";
  }, "{ layer, head } objects"),
};

/** Evenly spread picks of `count` items out of `n` (indices, first and last included). */
export function spread(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (n - 1)) / (count - 1)));
}

function headDistance(a: Float32Array, b: Float32Array, off: number, n: number): number {
  let s = 0;
  for (let i = off; i < off + n; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

export function stateEvolution(tuner: SnapshotSource, opts: EvolutionOptions = {}): StateEvolution {
  checkOptions("stateEvolution", opts, OPTIONS);
  const steps = tuner.keptSteps;
  const first = tuner.at(steps[0]),
    final = tuner.at(steps[steps.length - 1]);
  const { nLayer: L, nHead: H, headSize: N } = final;
  const NN = N * N;
  for (const h of opts.heads ?? [])
    if (h.layer < 0 || h.layer >= L || h.head < 0 || h.head >= H)
      throw new RangeError(`head ${h.layer}/${h.head} is outside the state's ${L} layers × ${H} heads`);

  // Every head if it fits with at least MIN_FRAMES frames; then as many frames as the budget allows.
  const budget = opts.maxValues ?? 500_000,
    maxFrames = opts.maxFrames ?? 25;
  const fit = Math.max(1, Math.floor(budget / (Math.min(maxFrames, MIN_FRAMES, steps.length) * NN)));
  const nHeads = Math.min(opts.heads?.length ?? fit, L * H);
  const frameIdx = spread(steps.length, Math.max(2, Math.min(maxFrames, Math.floor(budget / (nHeads * NN)))));
  const rows = Array.from({ length: L * H }, (_, r) => ({ layer: Math.floor(r / H), head: r % H }));
  const change = rows.map((_, r) => headDistance(final.wkv, first.wkv, r * NN, NN));
  const heads = (
    opts.heads ??
    rows
      .map((h, r) => ({ h, c: change[r] }))
      .sort((a, b) => b.c - a.c)
      .slice(0, fit)
      .map((x) => x.h)
  ).sort((a, b) => a.layer - b.layer || a.head - b.head);

  const norms = rows.map(() => [] as number[]),
    fromFinal = rows.map(() => [] as number[]);
  const matrices = heads.map(() => [] as Float32Array[]);
  steps.forEach((step, k) => {
    const s = k === steps.length - 1 ? final : k === 0 ? first : tuner.at(step);
    for (let r = 0; r < rows.length; r++) {
      norms[r].push(l2Norm(s.wkv.subarray(r * NN, (r + 1) * NN)));
      fromFinal[r].push(headDistance(s.wkv, final.wkv, r * NN, NN));
    }
    if (frameIdx.includes(k)) heads.forEach((h, i) => matrices[i].push(s.head(h.layer, h.head).slice()));
  });
  return {
    nLayer: L,
    nHead: H,
    headSize: N,
    steps,
    norms,
    fromFinal,
    heads,
    frameSteps: frameIdx.map((k) => steps[k]),
    matrices,
  };
}

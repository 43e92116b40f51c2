// How the state moves while the model reads a text: after each token, every layer's wkv norm and
// the state of one layer projected on its two principal directions over the whole text.
import { l2Norm } from "../math";
import type { Model } from "../model/model";
import { checkOptions, is } from "../check";
import { State } from "../model/state";
import { tokenLabel } from "../tokenizer/visible";

export interface Trajectory {
  /** The text of each token (as decoded alone). */
  tokens: string[];
  /** The same, made visible (␣, ⏎, \xNN). */
  labels: string[];
  /** normsByLayer[l][t]: Frobenius norm of layer l's wkv after token t. */
  normsByLayer: number[][];
  /** Layer whose states are projected. */
  layer: number;
  /** 2-D principal-component coordinates of that layer's state after each token. */
  projection: [number, number][];
  /** Share of the variance the two components explain. */
  explained: [number, number];
}

export interface TrajectoryOptions {
  state?: State;
  layer?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export async function stateTrajectory(model: Model, text: string, opts: TrajectoryOptions = {}): Promise<Trajectory> {
  checkOptions("stateTrajectory", opts, {
    state: is.instance(State),
    layer: is.int(0),
    maxTokens: is.int(1),
    signal: is.signal,
  });
  const { nLayer, nHead, headSize } = model.config;
  const layer = opts.layer ?? nLayer - 1;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer)
    throw new RangeError(`layer ${layer} is out of range 0..${nLayer - 1}`);
  const ids = model.tokenizer.encode(text).slice(0, opts.maxTokens ?? 256);
  if (ids.length === 0) throw new Error("the text is empty");
  let state = opts.state ?? model.defaultState;
  const per = nHead * headSize * headSize;
  const normsByLayer: number[][] = Array.from({ length: nLayer }, () => []);
  const snapshots: Float32Array[] = [];
  for (const id of ids) {
    ({ state } = await model.forward([id], { state, mode: "rnn", logits: "none", signal: opts.signal }));
    for (let l = 0; l < nLayer; l++) normsByLayer[l].push(l2Norm(state.wkv.subarray(l * per, (l + 1) * per)));
    snapshots.push(state.wkv.slice(layer * per, (layer + 1) * per));
  }
  const { coords, explained } = pca2(snapshots);
  return {
    tokens: Array.from(ids, (id) => model.tokenizer.decode([id])),
    labels: Array.from(ids, (id) => tokenLabel(model.tokenizer, id)),
    normsByLayer,
    layer,
    projection: coords,
    explained,
  };
}

/** Top-2 principal components of the rows, through the T×T Gram matrix (T ≪ dimension). */
export function pca2(rows: Float32Array[]): { coords: [number, number][]; explained: [number, number] } {
  const T = rows.length,
    D = rows[0].length;
  const mean = new Float64Array(D);
  for (const r of rows) for (let i = 0; i < D; i++) mean[i] += r[i] / T;
  const G = Array.from({ length: T }, () => new Float64Array(T));
  for (let a = 0; a < T; a++)
    for (let b = a; b < T; b++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += (rows[a][i] - mean[i]) * (rows[b][i] - mean[i]);
      G[a][b] = G[b][a] = s;
    }
  const trace = G.reduce((s, row, i) => s + row[i], 0) || 1;
  const vecs: Float64Array[] = [],
    vals: number[] = [];
  for (let k = 0; k < 2; k++) {
    let v = Float64Array.from({ length: T }, (_, i) => Math.sin(i + 1 + k)); // deterministic start
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(T);
      for (let a = 0; a < T; a++) {
        let s = 0;
        for (let b = 0; b < T; b++) s += G[a][b] * v[b];
        w[a] = s;
      }
      for (const u of vecs) {
        const d = w.reduce((s, x, i) => s + x * u[i], 0);
        for (let i = 0; i < T; i++) w[i] -= d * u[i];
      }
      const n = l2Norm(w);
      if (n === 0) break;
      lambda = n;
      v = w.map((x) => x / n);
    }
    vecs.push(v);
    vals.push(lambda);
  }
  return {
    coords: Array.from(
      { length: T },
      (_, t) => [vecs[0][t] * Math.sqrt(vals[0]), vecs[1][t] * Math.sqrt(vals[1])] as [number, number],
    ),
    explained: [vals[0] / trace, vals[1] / trace],
  };
}

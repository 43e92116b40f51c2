// How long a tuned state's behaviour lasts, and where it lives. Along a long text the model runs
// from the tuned state and from the base state side by side: the KL between their next-token
// distributions at each position shows how long the tuned behaviour keeps speaking; each head's
// difference ‖S_tuned − S_base‖ after each token gives its half-life (tokens until it falls to half
// its start). A per-layer ablation zeroes one layer's tuned wkv and measures how much the loss rises.
import { checkOptions, is } from "../check";
import type { Model } from "../model/model";
import { State } from "../model/state";
import { divergence } from "./divergence";
import { heldOutDocs, heldOutLoss, type HeldOutData } from "./held-out";

export interface PersistenceOptions {
  /** The text to read (required): e.g. several conversations one after another. */
  text: string;
  /** What the tuned state is compared with (default: the model's default state). */
  base?: State;
  /** At most this many tokens of the text (default 256). */
  maxTokens?: number;
  /** Documents for the ablation's loss (default: the text). */
  data?: HeldOutData;
  signal?: AbortSignal;
}

export interface Persistence {
  /** The text's tokens, each decoded alone. */
  tokens: string[];
  /** kl[t]: KL(tuned ‖ base) of the next-token distributions after token t, nats. */
  kl: number[];
  /** top1[t]: whether both put the same token first. */
  top1: number[];
  nLayer: number;
  nHead: number;
  /** halfLife[l][h]: tokens until that head's ‖S_tuned − S_base‖ is half of its start; null: not within the text. */
  halfLife: (number | null)[][];
  /** remaining[l][t]: layer l's ‖S_tuned − S_base‖ after token t over its start (the decay curve). */
  remaining: number[][];
  /** Loss with the whole tuned state, with the base state, and with each layer's tuned wkv zeroed. */
  ablation: { tuned: number; base: number; layers: { layer: number; loss: number; delta: number }[]; on: string };
}

const OPTIONS = {
  text: is.string,
  base: is.instance(State),
  maxTokens: is.int(2),
  data: (v: unknown) => (typeof v === "object" || typeof v === "string" ? undefined : "must be held-out data"),
  signal: is.signal,
};

function headDiffs(a: State, b: State): number[] {
  const NN = a.headSize * a.headSize,
    out: number[] = [];
  for (let r = 0; r < a.nLayer * a.nHead; r++) {
    let s = 0;
    for (let i = r * NN; i < (r + 1) * NN; i++) s += (a.wkv[i] - b.wkv[i]) ** 2;
    out.push(Math.sqrt(s));
  }
  return out;
}

/** The same state with layer l's wkv zeroed. */
export function withoutLayer(s: State, l: number): State {
  const c = s.clone();
  c.layer(l).wkv.fill(0);
  return c;
}

export async function statePersistence(model: Model, state: State, opts: PersistenceOptions): Promise<Persistence> {
  checkOptions("persistence", opts, OPTIONS, ["text"]);
  const { nLayer: L, nHead: H, vocabSize: V } = model.config;
  const ids = model.tokenizer.encode(opts.text).slice(0, opts.maxTokens ?? 256);
  if (ids.length < 2) throw new RangeError("persistence needs a text of at least two tokens");
  const base = opts.base ?? model.defaultState;
  const T = ids.length;
  const pl = new Float32Array(T * V),
    ql = new Float32Array(T * V);
  const start = headDiffs(state, base);
  const diffs: number[][] = [];
  let s = state,
    b = base;
  for (let t = 0; t < T; t++) {
    const rs = await model.forward([ids[t]], { state: s, mode: "rnn", logits: "last", signal: opts.signal });
    const rb = await model.forward([ids[t]], { state: b, mode: "rnn", logits: "last", signal: opts.signal });
    pl.set(rs.logits!, t * V);
    ql.set(rb.logits!, t * V);
    s = rs.state;
    b = rb.state;
    diffs.push(headDiffs(s, b));
  }
  const d = divergence(pl, ql, V);
  const halfLife = Array.from({ length: L }, (_, l) =>
    Array.from({ length: H }, (_, h) => {
      const r = l * H + h;
      if (start[r] === 0) return null;
      const t = diffs.findIndex((x) => x[r] <= start[r] / 2);
      return t < 0 ? null : t + 1;
    }),
  );
  const layerNorm = (x: number[], l: number) => Math.hypot(...x.slice(l * H, (l + 1) * H));
  const remaining = Array.from({ length: L }, (_, l) => {
    const s0 = layerNorm(start, l);
    return diffs.map((x) => (s0 > 0 ? layerNorm(x, l) / s0 : 0));
  });

  const docs = opts.data ? await heldOutDocs(model, opts.data) : [Int32Array.from(ids)];
  const loss = async (st: State) => (await heldOutLoss(model, st, docs, opts.signal)).loss;
  const tuned = await loss(state);
  const layers: Persistence["ablation"]["layers"] = [];
  for (let l = 0; l < L; l++) {
    const x = await loss(withoutLayer(state, l));
    layers.push({ layer: l, loss: x, delta: x - tuned });
  }
  return {
    tokens: Array.from(ids, (id) => model.tokenizer.decode([id])),
    kl: Array.from(d.kl),
    top1: Array.from(d.top1),
    nLayer: L,
    nHead: H,
    halfLife,
    remaining,
    ablation: { tuned, base: await loss(base), layers, on: opts.data ? `${docs.length} documents` : "the text" },
  };
}

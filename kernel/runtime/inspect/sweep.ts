// A dial through state space: the held-out loss (or a score of the caller's) at points along the
// line from one state to another, along a path through several, or of one state scaled by alpha
// (what s0-tuning's inference "alpha" does, measured), with replies at a few of the points.
import { checkOptions, is } from "../check";
import { OptionsError } from "../errors";
import type { Model } from "../model/model";
import { State } from "../model/state";
import { resolveState, type StateSource } from "../tune/state-source";
import { heldOutDocs, heldOutLoss, type HeldOutData, type HeldOutOptions } from "./held-out";
import { REPLY_OPTIONS, replies, type ReplyOptions } from "./replies";

export interface SweepOptions extends HeldOutOptions, ReplyOptions {
  /** Held-out data for the loss at each point. */
  data?: HeldOutData;
  /** Prompts answered at the points in `at`. */
  prompts?: string[];
  /** Your measure of a point (e.g. the share of replies in a style); drawn beside the loss. */
  score?: (state: State, x: number) => number | Promise<number>;
  /** What the score is called on the figure (default "score"). */
  scoreName?: string;
  /** The points: t from the first state to the next (default 0…1 by 0.1 per segment), or alpha (default 0…2 by 0.2). */
  points?: number[];
  /** Points whose replies are shown (default: the first, the middle and the last). */
  at?: number[];
}

export type SweepKind = "interpolation" | "path" | "dial";

export interface Sweep {
  kind: SweepKind;
  /** The states the sweep goes through (or the one it scales). */
  names: string[];
  xs: number[];
  losses?: number[];
  heldOut?: { docs: number; tokens: number };
  scores?: number[];
  scoreName: string;
  /** Replies at the points of `at`. */
  generations: { x: number; replies: { prompt: string; reply: string }[] }[];
}

const OPTIONS = {
  ...REPLY_OPTIONS,
  data: (v: unknown) => (typeof v === "object" || typeof v === "string" ? undefined : "must be held-out data"),
  prompts: is.arrayOf(is.string, "strings"),
  score: is.function,
  scoreName: is.string,
  points: is.arrayOf(is.number(), "numbers"),
  at: is.arrayOf(is.number(), "numbers"),
  samples: is.int(1),
  ctxLen: is.int(1),
};

const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => Number((from + i * step).toFixed(10)));

/** The state at x: alpha·s for a dial; along the segments for an interpolation or a path. */
export function pointOf(kind: SweepKind, states: State[], x: number): State {
  if (kind === "dial") return State.scale(states[0], x);
  const seg = Math.min(Math.max(Math.floor(x), 0), states.length - 2);
  return State.lerp(states[seg], states[seg + 1], x - seg);
}

function named(states: StateSource | StateSource[] | Record<string, StateSource>): [string, StateSource][] {
  const label = (s: StateSource, i: number) =>
    typeof s === "string" ? s.split(/[\\/]/).pop()! : ("abcdefgh"[i] ?? `s${i}`);
  if (states instanceof State || typeof states === "string") return [[label(states, 0), states]];
  if (Array.isArray(states)) return states.map((s, i) => [label(s, i), s]);
  if (typeof states === "object" && states !== null) return Object.entries(states);
  throw new OptionsError("sweep needs a state, a state file, or a list or record of them", "states");
}

export async function sweepStates(
  model: Model,
  states: StateSource | StateSource[] | Record<string, StateSource>,
  opts: SweepOptions = {},
): Promise<Sweep> {
  checkOptions("sweep", opts, OPTIONS);
  const list = named(states);
  if (list.length === 0) throw new OptionsError("sweep needs at least one state", "states");
  const resolved: State[] = [];
  for (const [n, s] of list) resolved.push(await resolveState(model, s, n));
  const kind: SweepKind = list.length === 1 ? "dial" : list.length === 2 ? "interpolation" : "path";
  const xs = opts.points ?? (kind === "dial" ? range(0, 2, 0.2) : range(0, list.length - 1, 0.1));
  const at = opts.at ?? [...new Set([xs[0], xs[Math.floor((xs.length - 1) / 2)], xs[xs.length - 1]])];
  const { data, prompts, score, scoreName = "score", points: _p, at: _a, samples, ctxLen, ...replyOpts } = opts;

  const docs = data === undefined ? undefined : await heldOutDocs(model, data, { samples, ctxLen });
  const out: Sweep = { kind, names: list.map(([n]) => n), xs, scoreName, generations: [] };
  if (docs) out.losses = [];
  if (score) out.scores = [];
  for (const x of xs) {
    const s = pointOf(kind, resolved, x);
    if (docs) {
      const r = await heldOutLoss(model, s, docs, opts.signal);
      out.losses!.push(r.loss);
      out.heldOut = { docs: docs.length, tokens: r.tokens };
    }
    if (score) out.scores!.push(await score(s, x));
  }
  if (prompts?.length)
    for (const x of at) {
      const said = await replies(model, prompts, pointOf(kind, resolved, x), replyOpts);
      out.generations.push({ x, replies: prompts.map((prompt, i) => ({ prompt, reply: said[i] })) });
    }
  return out;
}

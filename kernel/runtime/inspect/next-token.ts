// What the model would say next after a prompt, from several initial states side by side, and
// where along an answer those states disagree most. Two states often agree on the answer's first
// token (a space, say) and part ways later; comparing only the first token hides that.
import { checkOptions, is } from "../check";
import { logSumExp } from "../math";
import type { Model } from "../model/model";
import { State } from "../model/state";
import { END_OF_DOC } from "../tokenizer/types";
import { tokenLabel, visibleToken } from "../tokenizer/visible";

export interface NextToken {
  id: number;
  /** The token's text as decoded alone ("" for the end-of-document token). */
  token: string;
  /** The same, made visible (␣, ⏎, \xNN, ⟨end⟩). */
  label: string;
  p: number;
}

export interface NextTokenDistribution {
  label: string;
  top: NextToken[];
}

export interface NextTokenComparison {
  prompt: string;
  /** Names of the states, in the order given. */
  labels: string[];
  /** The answer the states are compared along: the given one, or the greedy answer of the last state. */
  answer: { id: number; label: string }[];
  /** Which state's greedy answer it is, or "given". */
  answerFrom: string;
  /**
   * divergence[p]: Jensen–Shannon divergence in bits (0 = same, 1 = disjoint) between the states'
   * distributions of answer token p (the largest over pairs of states); all 0 with one state.
   */
  divergence: number[];
  /**
   * The compared position (0-based): the given one, else the first where the divergence comes
   * within 5% of its largest value (where the states part; later positions follow the answer).
   */
  position: number;
  chosen: "given" | "most different";
  /** The visible text just before the position (the prompt's end and the answer so far). */
  context: string;
  /** Tokens shown: the union of every state's top-k at the position, most likely first. */
  tokens: Omit<NextToken, "p">[];
  /** probabilities[s][k]: state s's probability of tokens[k]. */
  probabilities: number[][];
}

export interface CompareNextOptions {
  /** Names of the states (default: "untuned" for undefined, else "state i"). */
  labels?: string[];
  /** Tokens per state at the compared position (default 5; tokens below 0.5% in every state are left out). */
  topK?: number;
  /** The answer to compare along (default: the last state's greedy answer). */
  answer?: string;
  /** Answer position to compare (0 = the token right after the prompt; default: where the states differ most). */
  position?: number;
  /** Longest greedy answer (default 32 tokens; it also ends at the end token or a blank line). */
  maxAnswerTokens?: number;
  signal?: AbortSignal;
}

const OPTIONS = {
  labels: is.arrayOf(is.string, "strings"),
  topK: is.int(1, 100),
  answer: is.string,
  position: is.int(0),
  maxAnswerTokens: is.int(1, 1024),
  signal: is.signal,
};

const stateLabel = (labels: string[] | undefined, states: (State | undefined)[], i: number): string =>
  labels?.[i] ?? (states[i] ? `state ${i}` : "untuned");

function checkStates(states: (State | undefined)[]): void {
  if (!Array.isArray(states) || states.length === 0 || !states.every((s) => s === undefined || s instanceof State))
    throw new TypeError("states must be a non-empty array of State (or undefined for the model's default state)");
}

/** Probabilities of a logits row, in float64. */
function softmax(logits: Float32Array): Float64Array {
  const lse = logSumExp(logits);
  return Float64Array.from(logits, (x) => Math.exp(x - lse));
}

function topIds(p: Float64Array, k: number): number[] {
  return Array.from(p.keys())
    .sort((a, b) => p[b] - p[a])
    .slice(0, k);
}

/** Jensen–Shannon divergence of two distributions, in bits. */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) s += p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) s += q[i] * Math.log2(q[i] / m);
  }
  return Math.max(0, s / 2);
}

/** The top-k next tokens after `prompt` from each state (undefined = the model's default state). */
export async function nextTokenDistributions(
  model: Model,
  prompt: string,
  states: (State | undefined)[],
  opts: { labels?: string[]; topK?: number; signal?: AbortSignal } = {},
): Promise<NextTokenDistribution[]> {
  checkOptions("nextTokenDistributions", opts, { labels: OPTIONS.labels, topK: OPTIONS.topK, signal: is.signal });
  checkStates(states);
  const ids = model.tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error("the prompt is empty");
  const out: NextTokenDistribution[] = [];
  for (let i = 0; i < states.length; i++) {
    const { logits } = await model.forward(ids, { state: states[i], logits: "last", signal: opts.signal });
    const p = softmax(logits!);
    out.push({
      label: stateLabel(opts.labels, states, i),
      top: topIds(p, opts.topK ?? 10).map((id) => ({ ...describe(model, id), p: p[id] })),
    });
  }
  return out;
}

function describe(model: Model, id: number): Omit<NextToken, "p"> {
  return { id, token: id === END_OF_DOC ? "" : model.tokenizer.decode([id]), label: tokenLabel(model.tokenizer, id) };
}

/** Greedy answer from `state`: up to maxTokens, through the end token or a blank line. */
async function greedyAnswer(
  model: Model,
  prompt: Int32Array,
  state: State | undefined,
  maxTokens: number,
  signal?: AbortSignal,
): Promise<number[]> {
  let { logits, state: s } = await model.forward(prompt, { state, logits: "last", signal });
  const answer: number[] = [];
  while (answer.length < maxTokens) {
    const id = topIds(softmax(logits!), 1)[0];
    answer.push(id);
    if (id === END_OF_DOC || model.tokenizer.decode(answer).includes("\n\n")) break;
    ({ logits, state: s } = await model.forward([id], { state: s, mode: "rnn", logits: "last", signal }));
  }
  return answer;
}

/**
 * Compares the states' next-token distributions at every position of an answer, and picks the
 * position where they differ most (or the one asked for).
 */
export async function compareNextTokens(
  model: Model,
  prompt: string,
  states: (State | undefined)[],
  opts: CompareNextOptions = {},
): Promise<NextTokenComparison> {
  checkOptions("compareNext", opts, OPTIONS);
  checkStates(states);
  const signal = opts.signal;
  const promptIds = model.tokenizer.encode(prompt);
  if (promptIds.length === 0) throw new Error("the prompt is empty");
  const labels = states.map((_, i) => stateLabel(opts.labels, states, i));
  let answer: number[];
  if (opts.answer !== undefined) {
    answer = Array.from(model.tokenizer.encode(opts.answer));
    if (answer.length === 0) throw new Error("the answer is empty: leave it out to use the greedy answer");
  } else {
    answer = await greedyAnswer(model, promptIds, states.at(-1), opts.maxAnswerTokens ?? 32, signal);
  }
  // One pass per state over prompt + answer (all but the last answer token) gives every position.
  const input = Int32Array.from([...promptIds, ...answer.slice(0, -1)]);
  const V = model.config.vocabSize,
    P = promptIds.length,
    A = answer.length;
  const dists: Float64Array[][] = [];
  for (const state of states) {
    const { logits } = await model.forward(input, { state, logits: "all", signal });
    dists.push(Array.from({ length: A }, (_, p) => softmax(logits!.subarray((P - 1 + p) * V, (P + p) * V))));
  }
  const divergence = Array.from({ length: A }, (_, p) => {
    let d = 0;
    for (let a = 0; a < dists.length; a++)
      for (let b = a + 1; b < dists.length; b++) d = Math.max(d, jsDivergence(dists[a][p], dists[b][p]));
    return d;
  });
  if (opts.position !== undefined && opts.position >= A)
    throw new RangeError(`position ${opts.position} is past the answer's ${A} tokens (0..${A - 1})`);
  const most = Math.max(...divergence);
  const position = opts.position ?? divergence.findIndex((d) => d >= 0.95 * most);
  const k = opts.topK ?? 5;
  const best = (id: number) => Math.max(...dists.map((d) => d[position][id]));
  const union = [...new Set(dists.flatMap((d) => topIds(d[position], k)))].sort((x, y) => best(y) - best(x));
  const shown = union.filter((id, i) => i < 2 || best(id) >= 0.005);
  const before = model.tokenizer.decode([...promptIds, ...answer.slice(0, position)]);
  return {
    prompt,
    labels,
    answer: answer.map((id) => ({ id, label: tokenLabel(model.tokenizer, id) })),
    answerFrom: opts.answer !== undefined ? "given" : labels.at(-1)!,
    divergence,
    position,
    chosen: opts.position !== undefined ? "given" : "most different",
    context: visibleToken(Array.from(before).slice(-32).join("")),
    tokens: shown.map((id) => describe(model, id)),
    probabilities: dists.map((d) => shown.map((id) => d[position][id])),
  };
}

// Text generation: the prompt in sequence mode, then one token at a time in RNN mode, sampled
// with a seeded generator and released through the tokenizer's stream decoder (never half a
// UTF-8 character). Stops at maxTokens, end of document (token 0) or a stop string.
import { resolveSignal } from "../cancel";
import { checkOptions, is, type Spec } from "../check";
import type { Tokenizer } from "../tokenizer/types";
import { State } from "./state";
import { SAMPLING_OPTIONS, sampleToken, samplerRandom } from "./sampling";

/** What generation needs from a model (Model.generate passes itself through these). */
export interface TokenStepper {
  readonly tokenizer: Tokenizer;
  /** Runs the prompt from `state` (default: the model's) and returns the last logits [V] and the new state. */
  prefill(
    ids: Int32Array,
    state: State | undefined,
    signal?: AbortSignal,
  ): Promise<{ logits?: Float32Array; state: State }>;
  /** Feeds one token in RNN mode: updates `state` in place and writes the next logits into `logits`. */
  step(id: number, state: State, logits: Float32Array, signal?: AbortSignal): Promise<void>;
}

export interface GenerateOptions {
  /** Starting state (e.g. a mounted state file); default: the model's default state. Never modified. */
  state?: State;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Generation ends before the first occurrence of any of these strings. */
  stop?: string[];
  signal?: AbortSignal;
}

const GENERATE_OPTIONS: Spec = {
  ...SAMPLING_OPTIONS,
  state: is.instance(State),
  maxTokens: is.int(0),
  seed: is.int(),
  stop: is.arrayOf(is.string, "strings"),
  signal: is.signal,
};

export async function* generate(
  model: TokenStepper,
  prompt: string,
  opts: GenerateOptions = {},
): AsyncGenerator<string> {
  checkOptions("generate", opts, GENERATE_OPTIONS);
  const sampling = { temperature: opts.temperature ?? 1, topP: opts.topP ?? 0.85, topK: opts.topK ?? 0 };
  const maxTokens = opts.maxTokens ?? 200;
  const stops = (opts.stop ?? []).filter((s) => s.length > 0);
  const signal = resolveSignal(opts.signal);
  const tokenizer = model.tokenizer;
  const ids = tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error("the prompt is empty (it needs at least one token)");

  const { logits, state } = await model.prefill(ids, opts.state, signal);
  const rand = samplerRandom(opts.seed);
  const decoder = tokenizer.streamDecoder();
  const maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  let pending = ""; // text held back while it could still be the start of a stop string
  const last = logits!;
  for (let n = 0; n < maxTokens; n++) {
    const id = sampleToken(last, sampling, rand);
    if (id === 0) break;
    pending += decoder.push(id);
    if (maxStop > 0) {
      const hit = stops.map((s) => pending.indexOf(s)).filter((i) => i >= 0);
      if (hit.length) {
        const cut = pending.slice(0, Math.min(...hit));
        if (cut) yield cut;
        return;
      }
      let safe = pending.length - (maxStop - 1);
      if (safe > 0 && /[\uD800-\uDBFF]/.test(pending[safe - 1])) safe--; // keep surrogate pairs whole
      if (safe > 0) {
        yield pending.slice(0, safe);
        pending = pending.slice(safe);
      }
    } else if (pending) {
      yield pending;
      pending = "";
    }
    if (n + 1 < maxTokens) await model.step(id, state, last, signal);
  }
  pending += decoder.flush();
  if (maxStop > 0) {
    const hit = stops.map((s) => pending.indexOf(s)).filter((i) => i >= 0);
    if (hit.length) pending = pending.slice(0, Math.min(...hit));
  }
  if (pending) yield pending;
}

// What a state says: one reply per prompt, sampled with a fixed seed per prompt, so replies from
// different states differ only because the states do.
import { checkOptions, is, type Spec } from "../check";
import type { Model } from "../model/model";
import type { State } from "../model/state";
import { SAMPLING_OPTIONS } from "../model/sampling";

export interface ReplyOptions {
  /** Prompt i is sampled with seed + i (default 0). */
  seed?: number;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Default ["\n\n"]: the end of a chat turn. */
  stop?: string[];
  signal?: AbortSignal;
}

export const REPLY_OPTIONS: Spec = {
  ...SAMPLING_OPTIONS,
  seed: is.int(),
  maxTokens: is.int(1),
  stop: is.arrayOf(is.string, "strings"),
  signal: is.signal,
};

/** The reply to each prompt from `state`, trimmed. */
export async function replies(
  model: Model,
  prompts: string[],
  state: State,
  opts: ReplyOptions = {},
): Promise<string[]> {
  checkOptions("replies", opts, REPLY_OPTIONS);
  const { seed = 0, stop = ["\n\n"], maxTokens = 80, ...sampling } = opts;
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i++) {
    let text = "";
    for await (const piece of model.generate(prompts[i], { ...sampling, state, stop, maxTokens, seed: seed + i }))
      text += piece;
    out.push(text.trim());
  }
  return out;
}

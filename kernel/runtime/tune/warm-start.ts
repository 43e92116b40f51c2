// A warm start for state tuning: the state the model reaches after reading a text (a system prompt
// people would otherwise paste before every conversation). Mounted with its token shifts it is
// exactly "the text was read first"; as a tuning start only its wkv matrices are kept, with zero
// shifts, because that is all a state file holds and all PEFT trains (docs/spec.md §3.1).
import { OptionsError } from "../errors";
import type { Model } from "../model/model";
import { State } from "../model/state";

/** The state after reading `text` from the zero state, token shifts included. */
export async function promptState(model: Model, text: string, opts: { signal?: AbortSignal } = {}): Promise<State> {
  if (typeof text !== "string" || text.length === 0)
    throw new OptionsError("the prompt to read must be a non-empty string", "initPrompt");
  const tokens = model.tokenizer.encode(text);
  const { state } = await model.forward(tokens, { state: model.newState(), logits: "none", signal: opts.signal });
  return state;
}

/** The same state as a tuning start: its wkv, zero shifts. */
export function withZeroShifts(s: State): State {
  return new State(s.dims, { wkv: s.wkv.slice() });
}

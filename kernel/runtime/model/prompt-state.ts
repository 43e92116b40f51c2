// The state a text leaves behind: run the model over it and keep the final state. A state file
// holds only the wkv part and is mounted with zero token shifts (docs/spec.md §4.3), so `shifts:
// "zero"` gives the state as it would be mounted: what a prompt can be compiled into at best
// without training, and the warm start of prompt compilation (tune/compile-prompt.ts).
import { checkOptions, is } from "../check";
import type { Model } from "./model";
import { State } from "./state";

export interface PromptStateOptions {
  /** Where reading starts (default: the model's default state). */
  from?: State;
  /** "keep" (default): the state exactly as reading left it; "zero": its wkv with zero token shifts. */
  shifts?: "keep" | "zero";
  signal?: AbortSignal;
}

export async function stateAfterText(model: Model, text: string, opts: PromptStateOptions = {}): Promise<State> {
  checkOptions("stateAfterText", opts, {
    from: is.instance(State),
    shifts: is.oneOf("keep", "zero"),
    signal: is.signal,
  });
  const ids = model.tokenizer.encode(text);
  if (ids.length === 0) throw new Error("the text is empty (it needs at least one token)");
  const { state } = await model.forward(ids, { state: opts.from, logits: "none", signal: opts.signal });
  return opts.shifts === "zero" ? new State(model.config, { wkv: state.wkv }) : state;
}

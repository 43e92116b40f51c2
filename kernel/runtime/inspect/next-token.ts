// What the model would say next after a prompt, from several initial states side by side.
import { checkOptions, is } from "../check";
import { logSumExp } from "../math";
import type { Model } from "../model/model";
import type { State } from "../model/state";

export interface NextTokenDistribution {
  label: string;
  top: { token: string; id: number; p: number }[];
}

export async function nextTokenDistributions(
  model: Model,
  prompt: string,
  states: (State | undefined)[],
  opts: { labels?: string[]; topK?: number; signal?: AbortSignal } = {},
): Promise<NextTokenDistribution[]> {
  checkOptions("nextTokenDistributions", opts, {
    labels: is.arrayOf(is.string, "strings"),
    topK: is.int(1),
    signal: is.signal,
  });
  const ids = model.tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error("the prompt is empty");
  const k = opts.topK ?? 10;
  const out: NextTokenDistribution[] = [];
  for (let i = 0; i < states.length; i++) {
    const { logits } = await model.forward(ids, { state: states[i], logits: "last", signal: opts.signal });
    const l = logits!;
    const lse = logSumExp(l);
    const order = Array.from(l.keys())
      .sort((a, b) => l[b] - l[a])
      .slice(0, k);
    out.push({
      label: opts.labels?.[i] ?? (states[i] ? `state ${i}` : "untuned"),
      top: order.map((id) => ({
        id,
        token: id === 0 ? "<end>" : model.tokenizer.decode([id]),
        p: Math.exp(l[id] - lse),
      })),
    });
  }
  return out;
}

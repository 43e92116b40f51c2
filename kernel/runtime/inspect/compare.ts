// Several states side by side on one model: the loss of each on held-out documents, each one's reply
// to the same prompts with the same seeds, and how far apart their wkv matrices are, layer by layer.
// States may be files of any supported layout (state-source.ts checks they were made for this model).
import { checkOptions, is } from "../check";
import { OptionsError } from "../errors";
import type { Model } from "../model/model";
import type { State } from "../model/state";
import { resolveState, type StateSource } from "../tune/state-source";
import { heldOutDocs, heldOutLoss, type HeldOutData, type HeldOutOptions } from "./held-out";
import { REPLY_OPTIONS, replies, type ReplyOptions } from "./replies";

export interface CompareOptions extends HeldOutOptions, ReplyOptions {
  /** Held-out data for the loss table (none: no table). */
  data?: HeldOutData;
  /** Prompts every state answers (none: no generations). */
  prompts?: string[];
}

export interface StateLoss {
  name: string;
  loss: number;
  /** exp(loss). */
  ppl: number;
}

/** The result of compareStates; the notebook shows it as tables and a figure. */
export class StateComparison {
  constructor(
    /** The states' names, in the order given. */
    readonly names: string[],
    /** Where each came from: its file, or "State". */
    readonly sources: string[],
    /** Held-out loss per state (absent without data). */
    readonly losses: StateLoss[] | undefined,
    /** What the losses were measured on. */
    readonly heldOut: { docs: number; tokens: number } | undefined,
    /** Each prompt with every state's reply (in `names` order). */
    readonly generations: { prompt: string; replies: string[] }[],
    /** distances[l][i][j]: Frobenius norm of layer l's wkv of state i minus state j. */
    readonly distances: number[][][],
    /** The states themselves, read and checked. */
    readonly states: State[],
  ) {}

  /** Distances over all layers: √Σ_l distances[l][i][j]². */
  get totalDistances(): number[][] {
    return this.names.map((_, i) =>
      this.names.map((_, j) => Math.sqrt(this.distances.reduce((s, d) => s + d[i][j] ** 2, 0))),
    );
  }

  /** The name of the state with the lowest held-out loss. */
  get best(): string | undefined {
    return this.losses?.reduce((a, b) => (b.loss < a.loss ? b : a)).name;
  }
}

const OPTIONS = {
  ...REPLY_OPTIONS,
  data: (v: unknown) => (v === undefined || typeof v === "object" || typeof v === "string" ? undefined : "bad"),
  prompts: is.arrayOf(is.string, "strings"),
  samples: is.int(1),
  ctxLen: is.int(1),
};

/** Per layer, the pairwise Frobenius distances of the states' wkv matrices. */
export function layerDistances(states: State[]): number[][][] {
  const { nLayer: L, nHead: H, headSize: N } = states[0];
  const per = H * N * N;
  return Array.from({ length: L }, (_, l) =>
    states.map((a) =>
      states.map((b) => {
        let s = 0;
        for (let i = l * per; i < (l + 1) * per; i++) s += (a.wkv[i] - b.wkv[i]) ** 2;
        return Math.sqrt(s);
      }),
    ),
  );
}

export async function compareStates(
  model: Model,
  states: Record<string, StateSource>,
  opts: CompareOptions = {},
): Promise<StateComparison> {
  checkOptions("compareStates", opts, OPTIONS);
  const names = Object.keys(states ?? {});
  if (names.length === 0)
    throw new OptionsError("compareStates needs states to compare: { name: State or state file, ... }", "states");
  const resolved: State[] = [];
  for (const n of names) resolved.push(await resolveState(model, states[n], n));
  const sources = names.map((n) => (typeof states[n] === "string" ? (states[n] as string) : "State"));
  const { data, prompts, samples, ctxLen, ...replyOpts } = opts;

  let losses: StateLoss[] | undefined, heldOut: StateComparison["heldOut"];
  if (data !== undefined) {
    const docs = await heldOutDocs(model, data, { samples, ctxLen });
    losses = [];
    for (let i = 0; i < names.length; i++) {
      const r = await heldOutLoss(model, resolved[i], docs, opts.signal);
      losses.push({ name: names[i], loss: r.loss, ppl: Math.exp(r.loss) });
      heldOut = { docs: docs.length, tokens: r.tokens };
    }
  }
  const generations: StateComparison["generations"] = (prompts ?? []).map((prompt) => ({ prompt, replies: [] }));
  if (prompts?.length)
    for (const s of resolved) {
      const said = await replies(model, prompts, s, replyOpts);
      said.forEach((r, i) => generations[i].replies.push(r));
    }
  return new StateComparison(names, sources, losses, heldOut, generations, layerDistances(resolved), resolved);
}

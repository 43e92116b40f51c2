// tuner.branch(step, changes): a new run from a kept step of another. It starts from that step's
// state, Adam moments and step count, so with no changes it continues exactly as the original run
// did; changed options apply from there on (the learning rate is the new schedule read at that
// step). On the same data with the same sampling options it also continues the sampler, so the
// branch does not see again the batches the run had already seen; otherwise its sampler starts afresh.
import { checkOptions } from "../check";
import type { TokenDataset } from "../data/dataset";
import type { SamplerState } from "../data/samplers";
import { OptionsError } from "../errors";
import type { TunerOptions } from "./types";

/** What a branch may change: any tuner option but the initial state, and the data. */
export type BranchOptions = Partial<Omit<TunerOptions, "initState">> & { data?: TokenDataset };

/** The options that decide which samples a sampler draws. */
const SAMPLER_KEYS = ["sampler", "ctxLen", "microBsz", "seed", "epochSteps", "magicPrime"] as const;

const isDataset = (v: unknown): string | undefined => {
  const d = v as TokenDataset;
  const ok = typeof v === "object" && v !== null && typeof d.tokenCount === "number" && typeof d.doc === "function";
  return ok ? undefined : "must be a TokenDataset (a Dataset or BinIdxDataset)";
};

export interface BranchPlan {
  data: TokenDataset;
  options: Omit<TunerOptions, "initState">;
  /** The sampler position to continue from, when the branch draws from the same data the same way. */
  sampler?: SamplerState;
}

/** The branch's data and options, and whether it continues the parent's sampler (`at`: its position then). */
export function planBranch(
  parent: { options: TunerOptions; dataset: TokenDataset },
  changes: BranchOptions,
  at: SamplerState,
): BranchPlan {
  const { data, ...rest } = changes;
  checkOptions("tuner.branch", { data }, { data: isDataset });
  if ("initState" in changes)
    throw new OptionsError(
      "tuner.branch: the branch starts from the kept state; initState cannot be changed",
      "initState",
    );
  const { initState: _parentInit, ...inherited } = parent.options;
  const options = { ...inherited, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
  const sameData = data === undefined || data === parent.dataset;
  const sameSampling = SAMPLER_KEYS.every((k) => options[k] === parent.options[k]);
  return { data: data ?? parent.dataset, options, sampler: sameData && sameSampling ? at : undefined };
}

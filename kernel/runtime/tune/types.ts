// Shared types of state tuning: one record per optimizer step and the Tuner's options.
import type { TokenDataset } from "../data/dataset";
import type { Padding, SamplerKind } from "../data/samplers";
import type { State } from "../model/state";

/** What one optimizer step did; the Tuner's history is a list of these. */
export interface StepRecord {
  /** 1-based index of the step just taken. */
  step: number;
  /** Mean next-token cross entropy of the step's batch (before the update). */
  loss: number;
  /** Learning rate used for the update. */
  lr: number;
  /** Global L2 norm of the gradient over all layers' wkv state, before clipping. */
  gradNorm: number;
  /** Target tokens that entered the loss this step. */
  tokens: number;
  tokensPerSecond: number;
  /** Wall time of this step. */
  elapsedMs: number;
  /**
   * Mean loss on the validation data (TunerOptions.validation) with the state after this step, when a
   * validation ran after it (every `validation.every` steps and after the last). The training figure
   * draws these points as the validation curve beside the training loss.
   */
  validationLoss?: number;
  /** Why the run stopped early after this step (TunerOptions.stopWhen); absent otherwise. */
  stopped?: string;
}

export type LrSchedule = "cos" | "exp";
export type { Padding, SamplerKind };

export interface TunerOptions {
  ctxLen: number;
  microBsz: number;
  lrInit: number;
  lrFinal: number;
  lrSchedule: LrSchedule;
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global L2-norm clip; 0 disables. */
  gradClip: number;
  l2wrap: boolean;
  /**
   * pad: one document per sample (PEFT --dataload pad); random: random offsets; magic-prime: LM's
   * pretraining order.
   */
  sampler: SamplerKind;
  /**
   * trim (default): positions after the batch's last counted target are not run; peft: every sample
   * runs its full ctxLen, as RWKV-PEFT does (its L2Wrap also touches those positions). docs/spec.md §3.12.
   */
  padding: Padding;
  seed: number;
  /** Steps per (mini-)epoch; the default depends on the sampler (see SamplerOptions.epochSteps). */
  epochSteps?: number;
  /** magic-prime sampler: the prime (default: the largest fitting the data, as make_data.py prints). */
  magicPrime?: number;
  /**
   * The state tuning starts from: "zero" (default), a State (its wkv; shifts are not trained), or
   * "prompt": the wkv the model reaches after reading `initPrompt` from the zero state (a warm start
   * from a system prompt; the tuner is ready once `await tuner.ready` resolves).
   */
  initState?: State | "zero" | "prompt";
  /** initState "prompt": the text to read. */
  initPrompt?: string;
  /** Micro-batches per optimizer step (gradient accumulation; docs/spec.md §3.10); default 1. */
  accumulate: number;
  /**
   * Longest piece of a sample one training call runs (chunked BPTT through the carried state, exact;
   * default 512): memory stays that of chunkLen tokens whatever ctxLen is.
   */
  chunkLen: number;
  /**
   * Train these layers' states only (default: all). The backward stops below the lowest of them; the
   * others keep their initial state (zero or from initState) and are saved as they are.
   */
  layers?: number[];
  /**
   * "response": only targets the data's loss mask marks count (the assistant's answers of chat data,
   * docs/spec.md §5.4); "none": every target. Default: "response" when the data has a mask.
   */
  lossMask: "none" | "response";
  /** Held-out loss during the run, recorded on the StepRecord of the step after which it ran. */
  validation?: ValidationOptions;
  /** Keep the state with the lowest validation loss as `tuner.best` (needs validation). */
  keepBest: boolean;
  /** End run() early; the step's record says why (StepRecord.stopped). */
  stopWhen?: StopWhen;
  /** Keep the state every this many steps (at, branch, plot.stateEvolution); default ~100 a run, 0: the start only. */
  snapshotEvery?: number;
  /** At most this many snapshots (default 100); older ones are thinned beyond it. */
  snapshotKeep?: number;
  /** MiB of snapshots kept in memory (default 256); older ones move to a temporary folder. */
  snapshotMemoryMB?: number;
}

export interface ValidationOptions {
  dataset: TokenDataset;
  /** Validate after every `every` steps (and after the last of totalSteps); default 10. */
  every?: number;
  /** Samples drawn once (fixed seed) and scored each time; default 16. */
  samples?: number;
}

export interface StopWhen {
  /** Stop once the validation loss (without validation: a step's training loss) is at or below this. */
  loss?: number;
  /** Stop after this many validations in a row without a new best validation loss. */
  patience?: number;
  /** For patience: a validation loss must beat the best by more than this to count as better (default 0). */
  minDelta?: number;
}

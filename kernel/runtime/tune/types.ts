// Shared types of state tuning: one record per optimizer step and the Tuner's options.
import type { SamplerKind } from "../data/samplers";
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
}

export type LrSchedule = "cos" | "exp";
export type { SamplerKind };

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
  seed: number;
  /** Steps per (mini-)epoch; the default depends on the sampler (see SamplerOptions.epochSteps). */
  epochSteps?: number;
  /** magic-prime sampler: the prime (default: the largest fitting the data, as make_data.py prints). */
  magicPrime?: number;
  initState?: State;
  /** Keep the state every this many steps (at, branch, plot.stateEvolution); default ~100 a run, 0: the start only. */
  snapshotEvery?: number;
  /** At most this many snapshots (default 100); older ones are thinned beyond it. */
  snapshotKeep?: number;
  /** MiB of snapshots kept in memory (default 256); older ones move to a temporary folder. */
  snapshotMemoryMB?: number;
}

// Tuner options: defaults (RWKV-PEFT's state-tuning demo values) and the checks of every key.
import { checkOptions, is, type Spec } from "../check";
import type { TokenDataset } from "../data/dataset";
import { DataError } from "../errors";
import { State } from "../model/state";
import type { TunerOptions } from "./types";

export const TUNER_DEFAULTS: Omit<TunerOptions, "totalSteps"> = {
  ctxLen: 512,
  microBsz: 1,
  lrInit: 1,
  lrFinal: 0.01,
  lrSchedule: "cos",
  warmupSteps: 0,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  gradClip: 1.0,
  l2wrap: true,
  sampler: "pad",
  seed: 0,
};

const MAX_CTX = 1 << 20;

const SPEC: Spec = {
  ctxLen: is.int(1, MAX_CTX),
  microBsz: is.int(1, 4096),
  lrInit: is.number(0, 100, { min: true }),
  lrFinal: is.number(0, 100),
  lrSchedule: is.oneOf("cos", "exp"),
  warmupSteps: is.int(0),
  totalSteps: is.int(1),
  beta1: is.number(0, 1, { max: true }),
  beta2: is.number(0, 1, { max: true }),
  eps: is.number(0, Infinity, { min: true }),
  gradClip: is.number(0),
  l2wrap: is.boolean,
  sampler: is.oneOf("pad", "random", "magic-prime"),
  seed: is.int(0),
  epochSteps: is.int(1),
  magicPrime: is.int(2),
  initState: is.instance(State),
  snapshotEvery: is.int(0),
  snapshotKeep: is.int(2),
  snapshotMemoryMB: is.number(0),
};

export function resolveTunerOptions(
  opts: Partial<TunerOptions> & { totalSteps: number },
  data: TokenDataset,
): TunerOptions {
  checkOptions("Tuner", opts, SPEC, ["totalSteps"]);
  const set = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...TUNER_DEFAULTS, ...set } as TunerOptions;
  if (data.tokenCount < o.ctxLen + 1) {
    throw new DataError(
      `the dataset has ${data.tokenCount} tokens, fewer than ctx_len+1 = ${o.ctxLen + 1}: ` +
        `use a smaller ctxLen (≤ ${data.tokenCount - 1}) or more data`,
    );
  }
  return o;
}

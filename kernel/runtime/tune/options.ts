// Tuner options: defaults (RWKV-PEFT's state-tuning demo values) and the checks of every key.
import { checkOptions, is, type Spec } from "../check";
import type { TokenDataset } from "../data/dataset";
import { DataError, OptionsError } from "../errors";
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
  padding: "trim",
  seed: 0,
  accumulate: 1,
  chunkLen: 512,
  lossMask: "none",
  keepBest: false,
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
  padding: is.oneOf("trim", "peft"),
  seed: is.int(0),
  epochSteps: is.int(1),
  magicPrime: is.int(2),
  initState: is.either(is.oneOf("zero", "prompt"), is.instance(State)),
  initPrompt: is.string,
  accumulate: is.int(1, 1 << 16),
  chunkLen: is.int(1, MAX_CTX),
  layers: (v) =>
    Array.isArray(v) && v.length > 0 && v.every((l) => Number.isInteger(l) && l >= 0)
      ? undefined
      : "must be a non-empty array of layer indices (integers ≥ 0)",
  lossMask: is.oneOf("none", "response"),
  validation: nested("validation", { dataset: isDataset, every: is.int(1), samples: is.int(1) }, ["dataset"]),
  keepBest: is.boolean,
  stopWhen: nested("stopWhen", { loss: is.number(0), patience: is.int(1), minDelta: is.number(0) }),
  snapshotEvery: is.int(0),
  snapshotKeep: is.int(2),
  snapshotMemoryMB: is.number(0),
};

/** A TokenDataset (Dataset, BinIdxDataset or anything with its members). */
function isDataset(v: unknown): string | undefined {
  const d = v as Partial<TokenDataset>;
  return typeof v === "object" && v !== null && typeof d.slice === "function" && typeof d.tokenCount === "number"
    ? undefined
    : "must be a dataset (Dataset, BinIdxDataset)";
}

/**
 * An options object inside the options, checked against its own spec. Its keys are named with the
 * outer one ("validation.every"), in the message and in the OptionsError's key.
 */
function nested(name: string, spec: Spec, required: readonly string[] = []): Spec[string] {
  const dotted = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${name}.${k}`, v]));
  return (v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return "must be an object";
    checkOptions(
      `Tuner ${name}`,
      dotted(v),
      dotted(spec) as Spec,
      required.map((k) => `${name}.${k}`),
    );
    return undefined;
  };
}

export function resolveTunerOptions(
  opts: Partial<TunerOptions> & { totalSteps: number },
  data: TokenDataset,
): TunerOptions {
  checkOptions("Tuner", opts, SPEC, ["totalSteps"]);
  const set = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const lossMask = data.maskSlice ? "response" : "none";
  const o = { ...TUNER_DEFAULTS, lossMask, ...set } as TunerOptions;
  if (o.initState === "prompt" && !o.initPrompt)
    throw new OptionsError('initState "prompt" reads initPrompt: give the text as initPrompt', "initPrompt");
  if (o.initPrompt !== undefined && o.initState !== "prompt")
    throw new OptionsError('initPrompt is read only with initState: "prompt"', "initPrompt");
  if (o.lossMask === "response" && !data.maskSlice)
    throw new DataError(
      'lossMask "response" needs data with a loss mask: make it with make-data --format chat (or Dataset.fromChat)',
    );
  if (o.keepBest && !o.validation)
    throw new OptionsError("keepBest keeps the state with the lowest validation loss: give validation", "keepBest");
  if (o.stopWhen?.patience !== undefined && !o.validation)
    throw new OptionsError("stopWhen.patience counts validations: give validation", "stopWhen");
  if (o.layers) o.layers = [...new Set(o.layers)].sort((a, b) => a - b);
  if (data.tokenCount < o.ctxLen + 1) {
    throw new DataError(
      `the dataset has ${data.tokenCount} tokens, fewer than ctx_len+1 = ${o.ctxLen + 1}: ` +
        `use a smaller ctxLen (≤ ${data.tokenCount - 1}) or more data`,
    );
  }
  return o;
}

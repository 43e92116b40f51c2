// Tuner options: defaults (RWKV-PEFT's state-tuning demo values) and range checks with clear messages.
import type { TokenDataset } from "../data/dataset";
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

export function resolveTunerOptions(
  opts: Partial<TunerOptions> & { totalSteps: number },
  data: TokenDataset,
): TunerOptions {
  const o: TunerOptions = { ...TUNER_DEFAULTS, ...stripUndefined(opts) } as TunerOptions;
  const int = (name: keyof TunerOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = o[name] as number;
    if (!Number.isInteger(v) || v < min || v > max)
      throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  int("ctxLen", 1, MAX_CTX);
  int("microBsz", 1, 4096);
  int("totalSteps", 1);
  int("warmupSteps", 0);
  int("seed", 0);
  if (o.epochSteps !== undefined) int("epochSteps", 1);
  if (!(Number.isFinite(o.lrInit) && o.lrInit > 0 && o.lrInit <= 100))
    throw new RangeError(`lrInit must be in (0, 100], got ${o.lrInit}`);
  if (!(Number.isFinite(o.lrFinal) && o.lrFinal >= 0 && o.lrFinal <= 100))
    throw new RangeError(`lrFinal must be in [0, 100], got ${o.lrFinal}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw new RangeError(`beta1 must be in [0, 1), got ${o.beta1}`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw new RangeError(`beta2 must be in [0, 1), got ${o.beta2}`);
  if (!(o.eps > 0 && Number.isFinite(o.eps))) throw new RangeError(`eps must be > 0, got ${o.eps}`);
  if (!(o.gradClip >= 0 && Number.isFinite(o.gradClip)))
    throw new RangeError(`gradClip must be ≥ 0 (0 = off), got ${o.gradClip}`);
  if (o.lrSchedule !== "cos" && o.lrSchedule !== "exp")
    throw new Error(`lrSchedule must be "cos" or "exp", got '${o.lrSchedule as string}'`);
  if (o.sampler !== "pad" && o.sampler !== "random" && o.sampler !== "magic-prime")
    throw new Error(`sampler must be "pad", "random" or "magic-prime", got '${o.sampler as string}'`);
  if (data.tokenCount < o.ctxLen + 1) {
    throw new Error(
      `the dataset has ${data.tokenCount} tokens, fewer than ctx_len+1 = ${o.ctxLen + 1}: use a smaller ctxLen (≤ ${data.tokenCount - 1}) or more data`,
    );
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

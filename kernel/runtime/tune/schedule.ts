// Learning-rate schedules of docs/spec.md §3.5. `step` is the 0-based index of the optimizer step about to run.
import type { LrSchedule } from "./types";

export interface ScheduleOptions {
  lrInit: number;
  lrFinal: number;
  totalSteps: number;
  warmupSteps: number;
  kind: LrSchedule;
}

/** PEFT HEAD `cos_decay`: cosine from lrInit to lrFinal over totalSteps, then lrFinal; no warmup. */
export function cosLr(step: number, lrInit: number, lrFinal: number, totalSteps: number): number {
  if (step >= totalSteps) return lrFinal;
  return lrFinal + 0.5 * (lrInit - lrFinal) * (1 + Math.cos((Math.PI * step) / totalSteps));
}

/**
 * PEFT-2024 / LM: exponential from lrInit to lrFinal after warmup (linear if either is 0); warmup
 * scales by 0.2 + 0.8·step/warmup.
 */
export function expLr(step: number, lrInit: number, lrFinal: number, totalSteps: number, warmupSteps: number): number {
  const span = totalSteps - warmupSteps;
  const progress = span > 0 ? Math.min(1, Math.max(0, (step - warmupSteps + 1) / span)) : 1;
  let lr =
    lrInit === 0 || lrFinal === 0
      ? lrInit + (lrFinal - lrInit) * progress
      : lrInit * Math.pow(lrFinal / lrInit, progress);
  if (step < warmupSteps) lr *= 0.2 + (0.8 * step) / warmupSteps;
  return lr;
}

/** The schedule of a tuner's options (TunerOptions names its kind lrSchedule). */
export function scheduleOf(o: Omit<ScheduleOptions, "kind"> & { lrSchedule: LrSchedule }): ScheduleOptions {
  const { lrInit, lrFinal, totalSteps, warmupSteps, lrSchedule } = o;
  return { kind: lrSchedule, lrInit, lrFinal, totalSteps, warmupSteps };
}

export function learningRate(step: number, o: ScheduleOptions): number {
  switch (o.kind) {
    case "cos":
      return cosLr(step, o.lrInit, o.lrFinal, o.totalSteps);
    case "exp":
      return expLr(step, o.lrInit, o.lrFinal, o.totalSteps, o.warmupSteps);
    default:
      throw new Error(`unknown lr schedule '${o.kind as string}' (cos or exp)`);
  }
}

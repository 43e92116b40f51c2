// What a person needs to know about a tuning run while it runs and after: how far it is, how long
// the rest will take (from the run's own wall time per step, on an injectable clock), how it ended
// (finished, interrupted, stopped early, failed), and what is worth a warning (running past the
// schedule, samples that are mostly padding). The runtime computes; the display layer draws.
import { inspect } from "node:util";
import { formatDuration } from "../data/progress";
import { learningRate, scheduleOf } from "./schedule";
import type { StepRecord, TunerOptions } from "./types";

/** Milliseconds on a monotonic clock. */
export type Clock = () => number;
export const systemClock: Clock = () => performance.now();

export type RunEnd = "running" | "finished" | "interrupted" | "stopped early" | "failed" | "nothing to run";

/**
 * A step record as the tuner makes it: an instance of this class, so that a notebook can show it
 * compactly (plain objects with the same fields are StepRecords too).
 */
// Declaration merging gives the class the record's fields; the constructor assigns every one.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface TunerStep extends StepRecord {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TunerStep {
  constructor(fields: StepRecord) {
    Object.assign(this, fields);
  }
  [inspect.custom](): string {
    return `StepRecord(${describeStep(this)})`;
  }
}

/** "step 12 · loss 2.3456 · lr 0.5 · |grad| 0.12 · 87 tokens · 410 ms" */
export function describeStep(r: StepRecord): string {
  const parts = [`step ${r.step}`, `loss ${r.loss.toFixed(4)}`];
  if (r.validationLoss !== undefined) parts.push(`validation loss ${r.validationLoss.toFixed(4)}`);
  parts.push(
    `lr ${formatNumber(r.lr)}`,
    `|grad| ${formatNumber(r.gradNorm)}`,
    `${r.tokens} tokens`,
    `${Math.round(r.elapsedMs)} ms`,
  );
  return parts.join(" · ");
}

/** 3 significant digits, exponent form for very small or large values. */
export function formatNumber(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}

/** The tuner's history: its steps in order, shown in a notebook as a table. */
export class StepHistory extends Array<StepRecord> {
  // map/filter/slice give plain arrays, not histories.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  [inspect.custom](depth: number, options: object): string {
    if (this.length <= 6) return `StepHistory ${inspect([...this], options)}`;
    const first = this[0],
      last = this[this.length - 1];
    return (
      `StepHistory(${this.length} steps: ${first.step}–${last.step}, ` +
      `loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)})`
    );
  }
}

type Schedule = Pick<TunerOptions, "totalSteps" | "lrInit" | "lrFinal" | "lrSchedule" | "warmupSteps">;
type Shape = Pick<TunerOptions, "ctxLen" | "microBsz">;

/** A share of positions below this counts as "most of each sample is padding". */
const PADDING_WARN_FILL = 0.5;

/** One call of tuner.run(): its plan, its records, its clock, how it ended. */
export class TuningRun {
  readonly records: StepRecord[] = [];
  readonly warnings: string[] = [];
  end: RunEnd = "running";
  /** The error's message when the run failed. */
  error?: string;
  private readonly startedAt: number;
  private endedAt?: number;
  private paddingChecked = false;

  constructor(
    /** Steps the tuner had taken before this run. */
    readonly startStep: number,
    /** Steps this run was asked for. */
    readonly steps: number,
    readonly options: Schedule & Shape,
    private readonly clock: Clock = systemClock,
  ) {
    this.startedAt = clock();
    const total = options.totalSteps;
    if (steps === 0 && startStep >= total)
      this.warnings.push(
        `nothing to run: the ${total}-step schedule is complete (tuner.steps = ${startStep}). ` +
          `tuner.run({ steps: n }) trains n more steps at the schedule's final learning rate ` +
          `${formatNumber(this.lrPastSchedule)}.`,
      );
    else if (this.pastSchedule)
      this.warnings.push(
        `this run goes past the schedule: steps ${Math.max(startStep, total) + 1}–${this.targetStep} come after ` +
          `its ${total} steps, at the final learning rate ${formatNumber(this.lrPastSchedule)} ` +
          `(${options.lrSchedule} schedule).`,
      );
  }

  /** The step number the run ends at when it runs to completion. */
  get targetStep(): number {
    return this.startStep + this.steps;
  }
  get pastSchedule(): boolean {
    return this.targetStep > this.options.totalSteps;
  }
  /** The learning rate of every step after the schedule's last. */
  get lrPastSchedule(): number {
    const o = this.options;
    return learningRate(o.totalSteps, scheduleOf(o));
  }

  record(r: StepRecord): void {
    this.records.push(r);
    if (!this.paddingChecked && this.records.length >= Math.min(3, this.steps)) this.checkPadding();
  }

  /** Marks the end; "finished" when every asked step ran. */
  finish(end: Exclude<RunEnd, "running">, error?: string): void {
    if (this.end !== "running") return;
    if (!this.paddingChecked && this.records.length) this.checkPadding();
    this.end = end;
    this.error = error;
    this.endedAt = this.clock();
  }

  /** Wall time of the run so far (to its end once it ended). */
  get elapsedMs(): number {
    return (this.endedAt ?? this.clock()) - this.startedAt;
  }

  /** Mean wall time per step of this run (observers and drawing included); undefined before the first. */
  get msPerStep(): number | undefined {
    return this.records.length ? this.elapsedMs / this.records.length : undefined;
  }

  /** Time left, from this run's pace; 0 once ended, undefined before the first step. */
  get etaMs(): number | undefined {
    if (this.end !== "running") return 0;
    const per = this.msPerStep;
    return per === undefined ? undefined : per * (this.steps - this.records.length);
  }

  /** "step 45/60 · ETA 13s", "step 102 of 300 (schedule: 60) · ETA 3m05s", "interrupted at step 23". */
  progressText(): string {
    const last = this.records.at(-1);
    const step = last?.step ?? this.startStep;
    const total = this.options.totalSteps;
    const where =
      step > total
        ? `step ${step} of ${this.targetStep}, past the ${total}-step schedule`
        : this.pastSchedule
          ? `step ${step} of ${this.targetStep} (the schedule has ${total})`
          : `step ${step}/${total}`;
    switch (this.end) {
      case "running":
        return `${where} · ETA ${this.etaMs === undefined ? "?" : shortDuration(this.etaMs)}`;
      case "finished":
        return `${where} · finished: ${this.records.length} steps in ${this.elapsedText()}`;
      case "interrupted":
        return `${where} · interrupted after ${this.records.length} of ${this.steps} steps (state from step ${step})`;
      case "stopped early":
        return `${where} · stopped early after ${this.records.length} of ${this.steps} steps`;
      case "failed":
        return `${where} · failed: ${this.error ?? "error"}`;
      case "nothing to run":
        return `${where} · nothing to run (the schedule is complete)`;
    }
  }

  elapsedText(): string {
    return shortDuration(this.elapsedMs);
  }

  private checkPadding(): void {
    this.paddingChecked = true;
    const o = this.options;
    const positions = o.ctxLen * o.microBsz;
    const n = Math.min(3, this.records.length);
    const targets = this.records.slice(0, n).reduce((s, r) => s + r.tokens, 0) / n;
    if (targets / positions >= PADDING_WARN_FILL) return;
    this.warnings.push(
      `most of each sample is padding: about ${Math.round(targets)} of the ${positions} positions per step ` +
        `(${o.microBsz} × ctxLen ${o.ctxLen}) are training targets (${Math.round((100 * targets) / positions)}%): ` +
        `a sample holds about ${Math.max(1, Math.round(targets / o.microBsz))} tokens of text. A ctxLen closer to ` +
        `the documents' lengths (plot.lengths shows them), or the "random" sampler, puts more text in each step.`,
    );
  }
}

/** "0.4s", "9.5s", "13s", "3m05s": tenths under 10 s, so that a short run's time left never reads 0s. */
export function shortDuration(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)}s` : formatDuration(s, "short");
}

/**
 * What tuner.run() resolves to: the run's step records (an array, as before) that shows itself as
 * a summary: steps run, loss first → last, time, how it ended, and warnings.
 */
export class RunResult extends StepHistory {
  declare readonly run: TuningRun;

  static ofRun(run: TuningRun): RunResult {
    const r = new RunResult();
    r.push(...run.records);
    Object.defineProperty(r, "run", { value: run, enumerable: false });
    return r;
  }

  get end(): RunEnd {
    return this.run.end;
  }
  get elapsedMs(): number {
    return this.run.elapsedMs;
  }
  get warnings(): string[] {
    return this.run.warnings;
  }

  /** One line: "60 steps (1–60) in 48s · loss 4.3121 → 1.0234 · finished". */
  summary(): string {
    const run = this.run;
    if (this.length === 0) {
      const why = run.end === "nothing to run" ? "the schedule is complete" : run.end;
      return `no steps run (${why}; tuner.steps = ${run.startStep})`;
    }
    const first = this[0],
      last = this[this.length - 1];
    const how =
      run.end === "finished"
        ? run.pastSchedule
          ? `finished, ${Math.min(this.length, last.step - run.options.totalSteps)} steps past the ` +
            `${run.options.totalSteps}-step schedule`
          : last.step >= run.options.totalSteps
            ? "finished (schedule complete)"
            : `finished (schedule at step ${last.step}/${run.options.totalSteps})`
        : run.end === "interrupted"
          ? `interrupted after ${this.length} of ${run.steps} steps; the state is from step ${last.step}`
          : run.end === "failed"
            ? `failed: ${run.error ?? "error"}`
            : `${run.end} after ${this.length} of ${run.steps} steps`;
    return (
      `${this.length} step${this.length === 1 ? "" : "s"} (${first.step}–${last.step}) in ${run.elapsedText()} · ` +
      `loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)} · ${how}`
    );
  }

  override [inspect.custom](): string {
    return [`RunResult: ${this.summary()}`, ...this.warnings.map((w) => `warning: ${w}`)].join("\n");
  }
}

/**
 * Time for the rest of the schedule: from the running run's pace, else from the mean wall time of
 * the last (up to 20) steps. Undefined before any step, 0 once the schedule is done.
 */
export function scheduleEtaMs(history: readonly StepRecord[], totalSteps: number, run?: TuningRun): number | undefined {
  const done = history.at(-1)?.step ?? 0;
  if (done >= totalSteps) return 0;
  const per =
    run?.end === "running" && run.msPerStep !== undefined
      ? run.msPerStep
      : history.length
        ? history.slice(-20).reduce((s, r) => s + r.elapsedMs, 0) / Math.min(20, history.length)
        : undefined;
  return per === undefined ? undefined : per * (totalSteps - done);
}

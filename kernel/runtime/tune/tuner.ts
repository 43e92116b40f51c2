// State tuning (docs/spec.md §3): the initial wkv state of every layer is the only trained parameter.
// fp32 master state + Adam moments; per step: draw `accumulate` micro-batches of microBsz samples,
// loss and gradient by chunked BPTT (tune/accumulate.ts, chunked.ts; §3.10), global-norm clip, Adam
// with the scheduled LR, then a validation when one is due (tune/validation.ts). A cancelled step
// changes nothing.
import { resolveSignal } from "../cancel";
import { checkOptions, is, type Spec } from "../check";
import { AbortError, DataError, OptionsError, TunerCheckpointError } from "../errors";
import { createSampler, nextBatch, type Batch, type Sampler } from "../data/samplers";
import type { TokenDataset } from "../data/dataset";
import type { Model } from "../model/model";
import { describeDims, sameStateDims, type StateDims } from "../model/dims";
import { State, type StateSaveOptions } from "../model/state";
import { countTargets, stepGradient, type StepGradient } from "./accumulate";
import { Adam, clipGradNorm } from "./adam";
import { planBranch, type BranchOptions } from "./branch";
import { modelProvenance } from "./provenance";
import { resolveTunerOptions } from "./options";
import { learningRate, scheduleOf } from "./schedule";
import { readCheckpointSnapshots, readTunerCheckpoint, writeTunerCheckpoint } from "./tuner-checkpoint";
import { RunResult, StepHistory, TunerStep, TuningRun } from "./run-summary";
import { defaultSnapshotPolicy, SnapshotStore, type SnapshotArrays, type SnapshotInfo } from "./snapshots";
import type { StepRecord, TunerOptions } from "./types";
import { HeldOut, StopTracker } from "./validation";
import { promptState } from "./warm-start";

export type TunerInit = Partial<TunerOptions> & { totalSteps: number };

/** Draws of a step's micro-batches before a step whose every target is masked is refused. */
const MAX_REDRAWS = 64;

/** Follows a run: called after every step and once when the run ends (however it ends). */
export interface RunObserver {
  /** Returning false stops the run after this step ("stopped early"). */
  onStep?(record: StepRecord, tuner: Tuner): void | boolean;
  onEnd?(tuner: Tuner): void;
}
/** A run's options; they are an observer of the run too. */
export interface RunOptions extends RunObserver {
  /** Steps to take (default: what is left of totalSteps). */
  steps?: number;
  signal?: AbortSignal;
  /** Whether the default observer (in a notebook: the live training view) follows the run; default true. */
  live?: boolean;
  /** The live view also shows every head's state norm over the steps beside the loss; default false. */
  liveState?: boolean;
}

const RUN_OPTIONS: Spec = {
  steps: is.int(0),
  signal: is.signal,
  live: is.boolean,
  liveState: is.boolean,
  onStep: is.function,
  onEnd: is.function,
};

type ObserverFactory = (tuner: Tuner, run: RunOptions) => RunObserver;
let defaultObserver: ObserverFactory | undefined;

/**
 * Installs the observer every run gets unless it passes `live: false`. The display layer installs
 * the live training view here, so the runtime draws nothing itself.
 */
export function setDefaultRunObserver(factory: ObserverFactory | undefined): void {
  defaultObserver = factory;
}
/** The k values of `steps` nearest to `step`, ascending. */
function nearest(steps: number[], step: number, k = 2): number[] {
  const byDistance = [...steps].sort((a, b) => Math.abs(a - step) - Math.abs(b - step) || a - b);
  return byDistance.slice(0, k).sort((a, b) => a - b);
}

export interface EvalResult {
  tuned: number;
  zero: number;
  tokens: number;
  samples: number;
}

/** The state with the lowest validation loss so far (TunerOptions.keepBest). */
export interface BestResult {
  /** The step after which it was validated. */
  step: number;
  loss: number;
  /** The state itself (wkv, zero shifts); only with keepBest. */
  state?: State;
}

export class Tuner {
  readonly options: TunerOptions;
  readonly history: StepRecord[] = new StepHistory();
  /** The run in progress, else the last one (its progress, ETA, end and warnings). */
  lastRun?: TuningRun;
  /**
   * Resolves once the tuner can step: at once, or for initState "prompt" when the prompt has been
   * read (`const tuner = await new Tuner(...).ready`). Every async method waits for it.
   */
  readonly ready: Promise<this>;
  /**
   * Set when a step met TunerOptions.stopWhen: run() then ends, and later run() calls take no step
   * until this is cleared (`tuner.stopped = undefined`).
   */
  stopped?: { step: number; reason: string };
  private readonly master: Float32Array;
  private readonly adam: Adam;
  /** step()'s gradient, reused: clipping and Adam consume it before the next step overwrites it. */
  private stepGrad?: Float32Array;
  private readonly sampler: Sampler;
  private readonly heldOut?: HeldOut;
  private readonly tracker: StopTracker;
  private warming = false;
  /** The state over training: kept steps (see snapshots.ts), read by at(), branch() and plot.stateEvolution. */
  readonly snapshots: SnapshotStore;

  constructor(
    readonly model: Model,
    readonly dataset: TokenDataset,
    opts: TunerInit,
  ) {
    this.options = resolveTunerOptions(opts, dataset);
    const o = this.options;
    const init = o.initState instanceof State ? o.initState : undefined;
    if (init) this.checkDims(init, "initState");
    const L = model.config.nLayer;
    if (o.layers && o.layers[o.layers.length - 1] >= L)
      throw new OptionsError(`layers ${o.layers.join(", ")}: the model has layers 0..${L - 1}`, "layers");
    this.master = init ? init.wkv.slice() : model.newState().wkv;
    this.adam = new Adam(this.master, o);
    this.sampler = createSampler(dataset, {
      kind: o.sampler,
      ctxLen: o.ctxLen,
      // epochSteps counts optimizer steps: accumulate:k, microBsz:b draws as microBsz:k·b does
      microBsz: o.microBsz * o.accumulate,
      seed: o.seed,
      epochSteps: o.epochSteps,
      magicPrime: o.magicPrime,
      lossMask: o.lossMask === "response",
    });
    const policy = defaultSnapshotPolicy(o.totalSteps);
    this.snapshots = new SnapshotStore(this.master.length, {
      every: o.snapshotEvery ?? policy.every,
      keep: o.snapshotKeep ?? policy.keep,
      memoryMB: o.snapshotMemoryMB ?? policy.memoryMB,
    });
    this.snapshots.add({ step: 0, sampler: this.sampler.getState() }, this.optimizerArrays());
    if (o.validation)
      this.heldOut = HeldOut.draw(o.validation.dataset, {
        kind: o.sampler,
        ctxLen: o.ctxLen,
        samples: o.validation.samples ?? 16,
        lossMask: o.lossMask === "response" && o.validation.dataset.maskSlice !== undefined,
      });
    this.tracker = new StopTracker(o.keepBest, o.stopWhen);
    this.ready = o.initState === "prompt" ? this.warmStart(o.initPrompt!) : Promise.resolve(this);
    this.ready.catch(() => undefined); // seen by whoever awaits ready or steps
  }

  /** initState "prompt": the wkv after reading the prompt becomes the initial state (zero shifts). */
  private async warmStart(text: string): Promise<this> {
    this.warming = true;
    try {
      this.master.set((await promptState(this.model, text)).wkv);
      // Step 0 of the kept snapshots is the warm state.
      this.snapshots.clear();
      this.snapshots.add({ step: 0, sampler: this.sampler.getState() }, this.optimizerArrays());
    } finally {
      this.warming = false;
    }
    return this;
  }

  /** The state with the lowest validation loss so far (validation; the state itself with keepBest). */
  get best(): BestResult | undefined {
    const b = this.tracker.best;
    if (!b) return undefined;
    return { step: b.step, loss: b.loss, state: b.wkv && new State(this.model.config, { wkv: b.wkv.slice() }) };
  }

  /** The live arrays (not copies): the snapshot store copies what it keeps. */
  private optimizerArrays(): SnapshotArrays {
    return { state: this.master, m: this.adam.m, v: this.adam.v };
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.adam.t;
  }

  /** A copy of the tuned state (wkv = master state, zero shifts), consistent between steps. */
  get state(): State {
    if (this.warming) throw new Error("the warm start is still reading initPrompt: `await tuner.ready` first");
    return new State(this.model.config, { wkv: this.master.slice() });
  }

  /** The learning rate of the next step. */
  get lr(): number {
    return learningRate(this.steps, scheduleOf(this.options));
  }

  /**
   * One optimizer step; an aborted step changes nothing (the next one draws the same batches). A
   * validation due after it runs before it returns (a cancelled validation only leaves it out).
   */
  async step(signal?: AbortSignal): Promise<StepRecord> {
    await this.ready;
    signal = resolveSignal(signal);
    if (signal?.aborted) throw new AbortError(signal.reason, { step: this.steps + 1 });
    const started = performance.now();
    const samplerBefore = this.sampler.getState();
    let r: StepGradient;
    try {
      r = await this.nextGradient(signal, (this.stepGrad ??= new Float32Array(this.master.length)));
    } catch (e) {
      this.sampler.setState(samplerBefore);
      throw e instanceof AbortError ? new AbortError(e.reason, { step: this.steps + 1 }) : e;
    }
    const { loss, grad } = r;
    if (!Number.isFinite(loss))
      throw new Error(`the loss is ${loss} at step ${this.steps + 1}; the state was not updated`);
    const lr = this.lr;
    const gradNorm = clipGradNorm(grad, this.options.gradClip);
    this.adam.step(grad, lr);
    const elapsedMs = performance.now() - started;
    const rec: StepRecord = new TunerStep({
      step: this.steps,
      loss,
      lr,
      gradNorm,
      tokens: r.nTargets,
      tokensPerSecond: r.nTargets / (elapsedMs / 1000),
      elapsedMs,
    });
    this.history.push(rec);
    await this.afterStep(rec, signal);
    this.snapshots.onStep(this.steps, this.optimizerArrays(), this.sampler.getState());
    return rec;
  }

  /**
   * The loss and gradient ([L,H,N,N], before clipping) the next step would take, without taking it:
   * the state and the sampler stay where they are.
   */
  async gradient(signal?: AbortSignal): Promise<StepGradient> {
    await this.ready;
    const before = this.sampler.getState();
    try {
      return await this.nextGradient(resolveSignal(signal));
    } finally {
      this.sampler.setState(before);
    }
  }

  private nextGradient(signal?: AbortSignal, into?: Float32Array): Promise<StepGradient> {
    const o = this.options;
    return stepGradient(this.model, this.drawBatches(), this.master, {
      l2wrap: o.l2wrap,
      chunkLen: o.chunkLen,
      layers: o.layers,
      signal,
      into,
    });
  }

  /** The `accumulate` micro-batches of a step, drawn again while every target of them is masked. */
  private drawBatches(): Batch[] {
    const { accumulate, microBsz } = this.options;
    for (let i = 0; i < MAX_REDRAWS; i++) {
      const batches = Array.from({ length: accumulate }, () => nextBatch(this.sampler, microBsz, this.options.padding));
      if (batches.some((b) => countTargets(b) > 0)) return batches;
    }
    throw new DataError(
      `${MAX_REDRAWS} draws of ${accumulate}×${microBsz} samples had no target the loss mask counts: ` +
        "are the answers past ctxLen, or is the data all prompts?",
    );
  }

  /** Validation when due, the best state, and the stop conditions; marks the record. */
  private async afterStep(rec: StepRecord, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    let stop: string | undefined;
    if (!this.heldOut) stop = this.tracker.trained(rec.loss);
    else if (rec.step % (o.validation!.every ?? 10) === 0 || rec.step === o.totalSteps) {
      try {
        const { loss } = await this.heldOut.loss(this.model, this.master, { chunkLen: o.chunkLen, signal });
        rec.validationLoss = loss;
        stop = this.tracker.validated(rec.step, loss, this.master);
      } catch (e) {
        if (!(e instanceof AbortError)) throw e;
      }
    }
    if (stop) {
      rec.stopped = stop;
      this.stopped = { step: rec.step, reason: stop };
    }
  }

  /**
   * Runs `steps` more steps (default: what is left of totalSteps; more runs past the schedule at its
   * final learning rate). When the signal fires the current step is cancelled (state unchanged) and
   * run resolves with the records so far. The result is an array of the run's records that shows
   * itself as a summary (RunResult: how it ended, time, warnings). Observers: the options'
   * onStep/onEnd, and the default observer (the live training view in a notebook) unless live: false.
   */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    checkOptions("tuner.run", opts, RUN_OPTIONS);
    const signal = resolveSignal(opts.signal);
    const steps = opts.steps ?? Math.max(0, this.options.totalSteps - this.steps);
    const run = (this.lastRun = new TuningRun(this.steps, steps, this.options));
    const observers: RunObserver[] = [opts];
    if (opts.live !== false && defaultObserver) observers.push(defaultObserver(this, opts));
    try {
      while (run.records.length < steps && !signal?.aborted && !this.stopped) {
        let rec: StepRecord;
        try {
          rec = await this.step(signal);
        } catch (e) {
          if (signal?.aborted) break;
          throw e;
        }
        run.record(rec);
        const stop = observers.map((o) => o.onStep?.(rec, this)).includes(false);
        if (stop && run.records.length < steps) run.finish("stopped early");
        if (stop) break;
      }
      if (this.stopped && run.records.length < steps) run.finish("stopped early", this.stopped.reason);
      run.finish(signal?.aborted && run.records.length < steps ? "interrupted" : steps ? "finished" : "nothing to run");
    } catch (e) {
      run.finish("failed", (e as Error).message);
      throw e;
    } finally {
      for (const o of observers) o.onEnd?.(this);
    }
    return RunResult.ofRun(run);
  }

  /** The steps at() can give: the kept snapshots and the current step, ascending. */
  get keptSteps(): number[] {
    const s = this.snapshots.steps;
    return s[s.length - 1] === this.steps ? s : [...s, this.steps];
  }

  /** The tuned state after `step` steps (0: the start): the current step or a kept snapshot. */
  at(step: number): State {
    return new State(this.model.config, { wkv: this.pointAt(step).arrays.state });
  }

  /**
   * A new tuner from step `step` of this one (see branch.ts): same state, moments and step count, with
   * the changed options (lr, schedule, data, ...). Unchanged, it continues exactly as this run did.
   */
  branch(step: number, changes: BranchOptions = {}): Tuner {
    const point = this.pointAt(step);
    const plan = planBranch(this, changes, point.sampler);
    const t = new Tuner(this.model, plan.data, {
      ...plan.options,
      initState: new State(this.model.config, { wkv: point.arrays.state }),
    });
    t.restore(
      step,
      point.arrays,
      plan.sampler,
      this.history.filter((r) => r.step <= step),
    );
    t.snapshots.add({ step, sampler: t.sampler.getState() }, t.optimizerArrays());
    return t;
  }

  private pointAt(step: number): { arrays: SnapshotArrays; sampler: SnapshotInfo["sampler"] } {
    if (step === this.steps) {
      const a = this.optimizerArrays();
      return { arrays: { state: a.state.slice(), m: a.m.slice(), v: a.v.slice() }, sampler: this.sampler.getState() };
    }
    if (!Number.isInteger(step) || step < 0 || step > this.steps)
      throw new RangeError(`step ${step} is outside this run's steps 0..${this.steps}`);
    const info = this.snapshots.info(step);
    if (!info) {
      const every = this.snapshots.policy.every;
      throw new RangeError(
        `step ${step} is not kept; the nearest kept steps are ${nearest(this.keptSteps, step).join(" and ")} ` +
          `(a snapshot every ${every} step${every === 1 ? "" : "s"}, older ones thinned; see snapshotEvery)`,
      );
    }
    return { arrays: this.snapshots.read(step), sampler: info.sampler };
  }

  /** Continues from a saved or kept point: moments, step count, sampler position, history; snapshots cleared. */
  private restore(
    steps: number,
    arrays: Pick<SnapshotArrays, "m" | "v">,
    sampler: SnapshotInfo["sampler"] | undefined,
    history: StepRecord[],
  ): void {
    this.adam.m.set(arrays.m);
    this.adam.v.set(arrays.v);
    this.adam.t = steps;
    if (sampler) this.sampler.setState(sampler);
    this.history.push(...history.map((r) => new TunerStep(r)));
    this.snapshots.clear();
  }

  /**
   * Mean loss over `samples` samples (fixed seed) with the tuned state (or `state`) and with the zero
   * state: random offsets, or with sampler "pad" whole documents from their start (the first
   * `samples` documents: conversations with their context). With lossMask "response" (default: the
   * tuner's) and data that has a mask, over the answers only.
   */
  async evaluate(
    dataset: TokenDataset,
    opts: {
      samples?: number;
      seed?: number;
      sampler?: "random" | "pad";
      state?: State;
      lossMask?: TunerOptions["lossMask"];
      signal?: AbortSignal;
    } = {},
  ): Promise<EvalResult> {
    checkOptions("tuner.evaluate", opts, {
      samples: is.int(1),
      seed: is.int(0),
      sampler: is.oneOf("random", "pad"),
      state: is.instance(State),
      lossMask: is.oneOf("none", "response"),
      signal: is.signal,
    });
    await this.ready;
    const o = this.options;
    if (dataset.tokenCount < o.ctxLen + 1)
      throw new DataError(
        `the evaluation dataset has ${dataset.tokenCount} tokens, fewer than ctx_len+1 = ${o.ctxLen + 1}`,
      );
    const masked = (opts.lossMask ?? o.lossMask) === "response";
    if (masked && opts.lossMask && !dataset.maskSlice)
      throw new DataError('lossMask "response": the evaluation data has no loss mask');
    const held = HeldOut.draw(dataset, {
      kind: opts.sampler ?? "random",
      ctxLen: o.ctxLen,
      samples: opts.samples ?? 16,
      seed: opts.seed ?? 12345,
      lossMask: masked && dataset.maskSlice !== undefined,
    });
    const run = { chunkLen: o.chunkLen, signal: resolveSignal(opts.signal) };
    if (opts.state) this.checkDims(opts.state, "state");
    const wkv = opts.state ? opts.state.wkv : this.master.slice();
    const tuned = await held.loss(this.model, wkv, run);
    // Before the first step (a zero state) one pass gives both.
    const zero = wkv.every((x) => x === 0) ? tuned : await held.loss(this.model, this.model.newState().wkv, run);
    return { tuned: tuned.loss, zero: zero.loss, tokens: tuned.tokens, samples: held.samples };
  }

  /** A state of another model's shape is refused, naming the option it came in. */
  private checkDims(s: StateDims, key: string): void {
    const c = this.model.config;
    const lhn = (d: StateDims) => `L${d.nLayer} H${d.nHead} N${d.headSize}`;
    if (s.nLayer !== c.nLayer || s.nHead !== c.nHead || s.headSize !== c.headSize)
      throw new OptionsError(`${key} (${lhn(s)}) does not fit the model (${lhn(c)})`, key);
  }

  /**
   * Saves the tuned state (PEFT layout; every layer, the untrained ones as they started); safetensors
   * files get provenance metadata. `best: true` saves the best state instead (keepBest).
   */
  async saveState(file: string, opts: StateSaveOptions & { best?: boolean } = {}): Promise<void> {
    await this.ready;
    const { best: useBest, ...saveOpts } = opts;
    const best = this.best;
    if (useBest && !best?.state)
      throw new OptionsError(
        best ? "the best state is kept only with keepBest: true" : "no validation has run yet: there is no best state",
        "best",
      );
    const last = this.history[this.history.length - 1];
    const provenance = {
      ...(await modelProvenance(this.model)),
      steps: useBest ? best!.step : this.steps,
      final_loss: useBest ? best!.loss : last ? last.loss : "",
      ...(useBest ? { selected: "lowest validation loss" } : {}),
      ...(this.options.layers ? { trained_layers: this.options.layers.join(",") } : {}),
      ...saveOpts.provenance,
    };
    await (useBest ? best!.state! : this.state).save(file, { ...saveOpts, provenance });
  }

  /**
   * Everything needed to continue exactly: state, Adam moments, step, options, sampler position,
   * history, and the best state and early-stop count (the validation data is not stored: pass it to resume).
   */
  async saveCheckpoint(file: string): Promise<void> {
    await this.ready;
    const { initState: _state, initPrompt: _prompt, validation, ...options } = this.options;
    const { best, stale } = this.tracker.snapshot();
    await writeTunerCheckpoint(
      file,
      {
        options: {
          ...options,
          ...(validation ? { validationEvery: validation.every, validationSamples: validation.samples } : {}),
        },
        steps: this.steps,
        sampler: this.sampler.getState(),
        history: this.history,
        dims: this.model.config,
        baseSha256: await this.model.checkpointHash(),
        progress: { best: best && { step: best.step, loss: best.loss }, stale, stopped: this.stopped },
      },
      { master: this.master, m: this.adam.m, v: this.adam.v, best: best?.wkv },
      { infos: this.snapshots.steps.map((s) => this.snapshots.info(s)!), read: (s) => this.snapshots.read(s) },
    );
  }

  /**
   * Continues a run saved by saveCheckpoint. A run that validated needs its validation data again:
   * `{ validation: { dataset } }` (every and samples default to the saved ones).
   */
  static async resume(
    file: string,
    model: Model,
    dataset: TokenDataset,
    opts: { validation?: TunerOptions["validation"] } = {},
  ): Promise<Tuner> {
    checkOptions("Tuner.resume", opts, { validation: is.recordOf(() => undefined, "validation options") });
    const { meta, arrays } = readTunerCheckpoint(file);
    const c = model.config,
      d = meta.dims;
    if (!sameStateDims(d, c)) {
      throw new TunerCheckpointError(
        `${file} was made for a model with ${describeDims(d)}; this model is ${describeDims(c)}`,
        file,
      );
    }
    const { validationEvery, validationSamples, ...options } = meta.options;
    const validation = opts.validation && {
      every: validationEvery,
      samples: validationSamples,
      ...opts.validation,
    };
    const t = new Tuner(model, dataset, { ...options, validation, initState: new State(c, { wkv: arrays.master }) });
    t.restore(meta.steps, arrays, meta.sampler, meta.history);
    readCheckpointSnapshots(file, (info, a) => t.snapshots.add(info, a));
    const p = meta.progress;
    if (p) {
      t.tracker.restore({ best: p.best && { ...p.best, wkv: arrays.best }, stale: p.stale });
      t.stopped = p.stopped;
    }
    return t;
  }
}

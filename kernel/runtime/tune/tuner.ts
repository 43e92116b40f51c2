// State tuning (docs/spec.md §3): the initial wkv state of every layer is the only trained parameter.
// fp32 master state + Adam moments; per step: draw microBsz samples, loss and gradient from the
// native model, global-norm clip, Adam with the scheduled LR. A cancelled step changes nothing.
import { resolveSignal } from "../cancel";
import { checkOptions, is, type Spec } from "../check";
import { AbortError, DataError, OptionsError, TunerCheckpointError } from "../errors";
import { batchOf, createSampler, nextBatch, type Sampler } from "../data/samplers";
import type { TokenDataset } from "../data/dataset";
import { meanCrossEntropy, type Model } from "../model/model";
import { describeDims, type StateDims } from "../model/dims";
import { State, type StateSaveOptions } from "../model/state";
import { Adam, clipGradNorm } from "./adam";
import { planBranch, type BranchOptions } from "./branch";
import { modelProvenance } from "./provenance";
import { resolveTunerOptions } from "./options";
import { learningRate } from "./schedule";
import { defaultSnapshotPolicy, SnapshotStore, type SnapshotArrays, type SnapshotInfo } from "./snapshots";
import { readCheckpointSnapshots, readTunerCheckpoint, writeTunerCheckpoint } from "./tuner-checkpoint";
import type { StepRecord, TunerOptions } from "./types";

export type TunerInit = Partial<TunerOptions> & { totalSteps: number };

/** Follows a run: called after every step and once when the run ends (however it ends). */
export interface RunObserver {
  onStep?(record: StepRecord, tuner: Tuner): void;
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

export class Tuner {
  readonly options: TunerOptions;
  readonly history: StepRecord[] = [];
  private readonly master: Float32Array;
  private readonly adam: Adam;
  private readonly sampler: Sampler;
  /** The state over training: kept steps (see snapshots.ts), read by at(), branch() and plot.stateEvolution. */
  readonly snapshots: SnapshotStore;

  constructor(
    readonly model: Model,
    readonly dataset: TokenDataset,
    opts: TunerInit,
  ) {
    this.options = resolveTunerOptions(opts, dataset);
    const init = this.options.initState;
    if (
      init &&
      (init.nLayer !== model.config.nLayer ||
        init.nHead !== model.config.nHead ||
        init.headSize !== model.config.headSize)
    ) {
      const lhn = (d: StateDims) => `L${d.nLayer} H${d.nHead} N${d.headSize}`;
      throw new OptionsError(`initState (${lhn(init)}) does not fit the model (${lhn(model.config)})`, "initState");
    }
    this.master = init ? init.wkv.slice() : model.newState().wkv;
    this.adam = new Adam(this.master, this.options);
    const o = this.options;
    this.sampler = createSampler(dataset, {
      kind: o.sampler,
      ctxLen: o.ctxLen,
      microBsz: o.microBsz,
      seed: o.seed,
      epochSteps: o.epochSteps,
      magicPrime: o.magicPrime,
    });
    const policy = defaultSnapshotPolicy(o.totalSteps);
    this.snapshots = new SnapshotStore(this.master.length, {
      every: o.snapshotEvery ?? policy.every,
      keep: o.snapshotKeep ?? policy.keep,
      memoryMB: o.snapshotMemoryMB ?? policy.memoryMB,
    });
    this.snapshots.add({ step: 0, sampler: this.sampler.getState() }, this.optimizerArrays());
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
    return new State(this.model.config, { wkv: this.master.slice() });
  }

  /** The learning rate of the next step. */
  get lr(): number {
    const o = this.options;
    return learningRate(this.steps, {
      kind: o.lrSchedule,
      lrInit: o.lrInit,
      lrFinal: o.lrFinal,
      totalSteps: o.totalSteps,
      warmupSteps: o.warmupSteps,
    });
  }

  /** One optimizer step; an aborted step changes nothing (the next one draws the same batch). */
  async step(signal?: AbortSignal): Promise<StepRecord> {
    signal = resolveSignal(signal);
    if (signal?.aborted) throw new AbortError(signal.reason, { step: this.steps + 1 });
    const started = performance.now();
    const samplerBefore = this.sampler.getState();
    const batch = nextBatch(this.sampler, this.options.microBsz);
    let r: { loss: number; grad: Float32Array; nTargets: number };
    try {
      r = await this.model.gradToState(batch, {
        state: new State(this.model.config, { wkv: this.master }),
        l2wrap: this.options.l2wrap,
        signal,
      });
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
    const rec: StepRecord = {
      step: this.steps,
      loss,
      lr,
      gradNorm,
      tokens: r.nTargets,
      tokensPerSecond: r.nTargets / (elapsedMs / 1000),
      elapsedMs,
    };
    this.history.push(rec);
    this.snapshots.onStep(this.steps, this.optimizerArrays(), this.sampler.getState());
    return rec;
  }

  /**
   * Runs `steps` more steps (default: up to totalSteps). When the signal fires the current step is
   * cancelled (state unchanged) and run resolves with the records so far. Observers: the options'
   * onStep/onEnd, and the default observer (the live training view in a notebook) unless live: false.
   */
  async run(opts: RunOptions = {}): Promise<StepRecord[]> {
    checkOptions("tuner.run", opts, RUN_OPTIONS);
    const signal = resolveSignal(opts.signal);
    const steps = opts.steps ?? Math.max(0, this.options.totalSteps - this.steps);
    const observers: RunObserver[] = [opts];
    if (opts.live !== false && defaultObserver) observers.push(defaultObserver(this, opts));
    const done: StepRecord[] = [];
    try {
      for (let i = 0; i < steps && !signal?.aborted; i++) {
        let rec: StepRecord;
        try {
          rec = await this.step(signal);
        } catch (e) {
          if (signal?.aborted) break;
          throw e;
        }
        done.push(rec);
        for (const o of observers) o.onStep?.(rec, this);
      }
    } finally {
      for (const o of observers) o.onEnd?.(this);
    }
    return done;
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
    this.history.push(...history);
    this.snapshots.clear();
  }

  /** Mean loss over `samples` samples (random, fixed seed) with the tuned state and with the zero state. */
  async evaluate(
    dataset: TokenDataset,
    opts: { samples?: number; seed?: number; signal?: AbortSignal } = {},
  ): Promise<EvalResult> {
    checkOptions("tuner.evaluate", opts, { samples: is.int(1), seed: is.int(0), signal: is.signal });
    const samples = opts.samples ?? 16;
    const T = this.options.ctxLen,
      V = this.model.config.vocabSize;
    if (dataset.tokenCount < T + 1)
      throw new DataError(`the evaluation dataset has ${dataset.tokenCount} tokens, fewer than ctx_len+1 = ${T + 1}`);
    const sampler = createSampler(dataset, { kind: "random", ctxLen: T, microBsz: 1, seed: opts.seed ?? 12345 });
    const tuned = this.state,
      zero = this.model.newState();
    let sumTuned = 0,
      sumZero = 0,
      tokens = 0;
    for (let i = 0; i < samples; i++) {
      const { inputs, targets, nTargets: n } = batchOf([sampler.next()]);
      for (const [st, add] of [
        [
          tuned,
          (x: number) => {
            sumTuned += x;
          },
        ],
        [
          zero,
          (x: number) => {
            sumZero += x;
          },
        ],
      ] as const) {
        const { logits } = await this.model.forward(inputs, { state: st, logits: "all", signal: opts.signal });
        add(meanCrossEntropy(logits!, targets, V) * n);
      }
      tokens += n;
    }
    return { tuned: sumTuned / tokens, zero: sumZero / tokens, tokens, samples };
  }

  /** Saves the tuned state (PEFT layout); safetensors files get provenance metadata. */
  async saveState(file: string, opts: StateSaveOptions = {}): Promise<void> {
    const last = this.history[this.history.length - 1];
    const provenance = {
      ...(await modelProvenance(this.model)),
      steps: this.steps,
      final_loss: last ? last.loss : "",
      ...opts.provenance,
    };
    await this.state.save(file, { ...opts, provenance });
  }

  /** Everything needed to continue exactly: state, Adam moments, step, options, sampler position, history. */
  async saveCheckpoint(file: string): Promise<void> {
    const { initState: _drop, ...options } = this.options;
    await writeTunerCheckpoint(
      file,
      {
        options,
        steps: this.steps,
        sampler: this.sampler.getState(),
        history: this.history,
        dims: this.model.config,
        baseSha256: await this.model.checkpointHash(),
      },
      { master: this.master, m: this.adam.m, v: this.adam.v },
      { infos: this.snapshots.steps.map((s) => this.snapshots.info(s)!), read: (s) => this.snapshots.read(s) },
    );
  }

  static async resume(file: string, model: Model, dataset: TokenDataset): Promise<Tuner> {
    const { meta, arrays } = readTunerCheckpoint(file);
    const c = model.config,
      d = meta.dims;
    if (d.nLayer !== c.nLayer || d.nHead !== c.nHead || d.headSize !== c.headSize || d.nEmbd !== c.nEmbd) {
      throw new TunerCheckpointError(
        `${file} was made for a model with ${describeDims(d)}; this model is ${describeDims(c)}`,
        file,
      );
    }
    const t = new Tuner(model, dataset, { ...meta.options, initState: new State(c, { wkv: arrays.master }) });
    t.restore(meta.steps, arrays, meta.sampler, meta.history);
    readCheckpointSnapshots(file, (info, a) => t.snapshots.add(info, a));
    return t;
  }
}

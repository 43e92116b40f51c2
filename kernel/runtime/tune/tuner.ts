// State tuning (docs/spec.md §3): the initial wkv state of every layer is the only trained parameter.
// fp32 master state + Adam moments; per step: draw microBsz samples, loss and gradient from the
// native model, global-norm clip, Adam with the scheduled LR. A cancelled step changes nothing.
import { createSampler, type Sampler } from "../data/samplers";
import type { TokenDataset } from "../data/dataset";
import { cellContext } from "../../display/context";
import { liveView } from "../../display/live";
import { trainingFigure } from "../../display/figures/training";
import { abortError, cancelFlagFor, meanCrossEntropy, type Model } from "../model/model";
import { State, type StateSaveOptions } from "../model/state";
import { Adam, clipGradNorm } from "./adam";
import { resolveTunerOptions } from "./options";
import { learningRate } from "./schedule";
import { readTunerCheckpoint, writeTunerCheckpoint } from "./tuner-checkpoint";
import type { StepRecord, TunerOptions } from "./types";

export type TunerInit = Partial<TunerOptions> & { totalSteps: number };
export interface RunOptions {
  steps?: number;
  onStep?: (r: StepRecord) => void;
  signal?: AbortSignal;
  live?: boolean;
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
      throw new Error(
        `initState (L${init.nLayer} H${init.nHead} N${init.headSize}) does not fit the model (L${model.config.nLayer} H${model.config.nHead} N${model.config.headSize})`,
      );
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
    });
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

  private batch(): { inputs: Int32Array; targets: Int32Array } {
    const { ctxLen: T, microBsz: B } = this.options;
    const inputs = new Int32Array(B * T),
      targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s = this.sampler.next();
      inputs.set(s.tokens.subarray(0, T), b * T);
      for (let j = 0; j < T; j++) targets[b * T + j] = j < s.validTargets ? s.tokens[j + 1] : -100;
    }
    return { inputs, targets };
  }

  async step(signal: AbortSignal | undefined = cellContext()?.signal): Promise<StepRecord> {
    if (signal?.aborted) throw abortError();
    const started = performance.now();
    const samplerBefore = this.sampler.getState();
    const { inputs, targets } = this.batch();
    const grad = new Float32Array(this.master.length);
    const c = cancelFlagFor(signal);
    let r: { lossSum: number; nTargets: number };
    try {
      r = await this.model.lossAndGrad(
        inputs,
        targets,
        this.options.microBsz,
        this.options.ctxLen,
        this.master,
        grad,
        this.options.l2wrap,
        c.flag,
      );
    } catch (e) {
      this.sampler.setState(samplerBefore); // the step is discarded: the next one draws the same batch
      throw signal?.aborted ? abortError() : e;
    } finally {
      c.done();
    }
    if (r.nTargets === 0) throw new Error("a batch had no valid targets");
    const loss = r.lossSum / r.nTargets;
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
    return rec;
  }

  /**
   * Runs `steps` more steps (default: up to totalSteps). When the signal fires the current step is
   * cancelled (state unchanged) and run resolves with the records so far; in a notebook cell it
   * shows the live training view.
   */
  async run(opts: RunOptions = {}): Promise<StepRecord[]> {
    const signal = opts.signal ?? cellContext()?.signal;
    const steps = opts.steps ?? Math.max(0, this.options.totalSteps - this.steps);
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps must be an integer ≥ 0, got ${steps}`);
    const view =
      opts.live === false
        ? undefined
        : liveView(() => trainingFigure(this.history, { totalSteps: this.options.totalSteps }));
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
        opts.onStep?.(rec);
        view?.update();
      }
    } finally {
      view?.close();
    }
    return done;
  }

  /** Mean loss over `samples` samples (random, fixed seed) with the tuned state and with the zero state. */
  async evaluate(
    dataset: TokenDataset,
    opts: { samples?: number; seed?: number; signal?: AbortSignal } = {},
  ): Promise<EvalResult> {
    const samples = opts.samples ?? 16;
    const T = this.options.ctxLen,
      V = this.model.config.vocabSize;
    if (!Number.isInteger(samples) || samples < 1)
      throw new RangeError(`samples must be a positive integer, got ${samples}`);
    if (dataset.tokenCount < T + 1)
      throw new Error(`the evaluation dataset has ${dataset.tokenCount} tokens, fewer than ctx_len+1 = ${T + 1}`);
    const sampler = createSampler(dataset, { kind: "random", ctxLen: T, microBsz: 1, seed: opts.seed ?? 12345 });
    const tuned = this.state,
      zero = this.model.newState();
    let sumTuned = 0,
      sumZero = 0,
      tokens = 0;
    for (let i = 0; i < samples; i++) {
      const s = sampler.next();
      const inputs = s.tokens.subarray(0, T);
      const targets = Int32Array.from(s.tokens.subarray(1), (t, j) => (j < s.validTargets ? t : -100));
      const n = targets.filter((t) => t >= 0).length;
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
    const c = this.model.config;
    const last = this.history[this.history.length - 1];
    const provenance = {
      model_version: `x0${c.version}0`,
      dims: `L${c.nLayer} C${c.nEmbd} H${c.nHead} N${c.headSize} V${c.vocabSize}`,
      base_sha256: await this.model.checkpointHash(),
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
    );
  }

  static async resume(file: string, model: Model, dataset: TokenDataset): Promise<Tuner> {
    const { meta, arrays } = readTunerCheckpoint(file);
    const c = model.config,
      d = meta.dims;
    if (d.nLayer !== c.nLayer || d.nHead !== c.nHead || d.headSize !== c.headSize || d.nEmbd !== c.nEmbd) {
      throw new Error(
        `${file} was made for a model with L${d.nLayer} C${d.nEmbd} H${d.nHead} N${d.headSize}; this model is L${c.nLayer} C${c.nEmbd} H${c.nHead} N${c.headSize}`,
      );
    }
    const t = new Tuner(model, dataset, { ...meta.options, initState: new State(c, { wkv: arrays.master }) });
    t.adam.m.set(arrays.m);
    t.adam.v.set(arrays.v);
    t.adam.t = meta.steps;
    t.sampler.setState(meta.sampler);
    t.history.push(...meta.history);
    return t;
  }
}

// Held-out loss during a run, the best state, and early stopping. The held-out samples are drawn once
// with a fixed seed, so every validation scores the same tokens and the curve moves only with the
// state. Scoring is forward-only in chunks (tune/chunked.ts), so long contexts cost no extra memory.
import type { TokenDataset } from "../data/dataset";
import { batchOf, createSampler, type Batch, type Sample, type SamplerKind } from "../data/samplers";
import { DataError } from "../errors";
import { chunkedBatch, type ChunkModel } from "./chunked";
import type { StopWhen } from "./types";

const HELD_OUT_SEED = 12345;
/** Samples per forward call: wide enough for good GEMM shapes, narrow enough for little memory. */
const BATCH = 8;

export interface HeldOutOptions {
  /** pad: whole documents (as the pad sampler, at most one per document); else random offsets. */
  kind: SamplerKind;
  ctxLen: number;
  samples: number;
  lossMask: boolean;
  seed?: number;
}

/** Fixed held-out samples and their mean loss under a given initial wkv state. */
export class HeldOut {
  private constructor(
    private readonly batches: Batch[],
    /** Samples actually drawn (pad: at most the dataset's documents). */
    readonly samples: number,
  ) {}

  static draw(dataset: TokenDataset, o: HeldOutOptions): HeldOut {
    if (dataset.tokenCount < o.ctxLen + 1)
      throw new DataError(`the held-out data has ${dataset.tokenCount} tokens, fewer than ctx_len+1 = ${o.ctxLen + 1}`);
    const pad = o.kind === "pad";
    const n = pad ? Math.min(o.samples, dataset.docCount) : o.samples;
    const sampler = createSampler(dataset, {
      kind: pad ? "pad" : "random",
      ctxLen: o.ctxLen,
      microBsz: 1,
      seed: o.seed ?? HELD_OUT_SEED,
      epochSteps: pad ? n : undefined,
      lossMask: o.lossMask,
    });
    const drawn: Sample[] = Array.from({ length: n }, () => sampler.next());
    const batches: Batch[] = [];
    for (let i = 0; i < n; i += BATCH) batches.push(batchOf(drawn.slice(i, i + BATCH)));
    if (batches.every((b) => b.nTargets === 0))
      throw new DataError("the held-out samples have no counted targets (is every token masked?)");
    return new HeldOut(batches, n);
  }

  /** Mean cross entropy over the counted targets, every sequence starting from wkv `s0` and zero shifts. */
  async loss(
    model: ChunkModel,
    s0: Float32Array,
    o: { chunkLen: number; signal?: AbortSignal },
  ): Promise<{ loss: number; tokens: number }> {
    let sum = 0,
      tokens = 0;
    for (const b of this.batches) {
      const r = await chunkedBatch(model, b, s0, null, {
        chunkLen: o.chunkLen,
        ceGradScale: 0,
        l2wrapScale: 0,
        signal: o.signal,
      });
      sum += r.lossSum;
      tokens += r.nTargets;
    }
    return { loss: sum / tokens, tokens };
  }
}

/** The best state seen so far by validation loss. */
export interface BestState {
  /** The step after which it was validated (0: before any step). */
  step: number;
  loss: number;
  /** Its wkv [L,H,N,N] (kept only with keepBest). */
  wkv?: Float32Array;
}

/** Follows validation losses (and, without validation, training losses) to keep the best and decide a stop. */
export class StopTracker {
  best?: BestState;
  /** Validations since the best one. */
  private stale = 0;

  constructor(
    private readonly keepBest: boolean,
    private readonly stopWhen: StopWhen = {},
  ) {}

  /**
   * Records a validation loss after `step`; returns why the run should stop, if it should. The best
   * state follows every new lowest loss; patience counts validations that did not beat the best by
   * at least minDelta.
   */
  validated(step: number, loss: number, wkv: Float32Array): string | undefined {
    const { loss: target, patience, minDelta = 0 } = this.stopWhen;
    const improved = !this.best || loss < this.best.loss - minDelta;
    if (!this.best || loss < this.best.loss) this.best = { step, loss, wkv: this.keepBest ? wkv.slice() : undefined };
    this.stale = improved ? 0 : this.stale + 1;
    if (target !== undefined && loss <= target)
      return `validation loss ${loss.toFixed(4)} reached stopWhen.loss ${target}`;
    if (patience !== undefined && this.stale >= patience)
      return (
        `no better validation loss${minDelta > 0 ? ` (by ${minDelta})` : ""} in ${this.stale} validations ` +
        `(best ${this.best.loss.toFixed(4)} after step ${this.best.step}; stopWhen.patience ${patience})`
      );
    return undefined;
  }

  /** A training loss, when the run has no validation: stopWhen.loss applies to it. */
  trained(loss: number): string | undefined {
    const target = this.stopWhen.loss;
    return target !== undefined && loss <= target
      ? `training loss ${loss.toFixed(4)} reached stopWhen.loss ${target}`
      : undefined;
  }

  /** What a tuner checkpoint keeps of it. */
  snapshot(): { best?: BestState; stale: number } {
    return { best: this.best, stale: this.stale };
  }
  restore(s: { best?: BestState; stale: number }): void {
    this.best = s.best;
    this.stale = s.stale;
  }
}

// The gradient of one optimizer step over k micro-batches (gradient accumulation, docs/spec.md §3.10).
// The loss is PEFT's mean over valid targets taken over the whole step: the cross entropy summed over
// every counted target of the k micro-batches, divided by their total count. Every micro-batch's
// backward is scaled by that one count, so k micro-batches of b samples give the gradient of one
// batch of k·b samples (within fp32 rounding of the sums). L2Wrap likewise uses the step's positions.
import type { Batch } from "../data/samplers";
import { chunkedBatch, type ChunkModel } from "./chunked";

export interface StepGradientOptions {
  l2wrap: boolean;
  chunkLen: number;
  layers?: number[];
  signal?: AbortSignal;
  /** Where to write the gradient (s0's length; its contents are replaced). Default: a new array. */
  into?: Float32Array;
}

export interface StepGradient {
  /** Mean cross entropy over the step's counted targets. */
  loss: number;
  /** ∂loss/∂s0 [L,H,N,N] (zeros for layers not trained). */
  grad: Float32Array;
  nTargets: number;
}

/** Targets that count (≠ −100) in a batch. */
export function countTargets(b: Batch): number {
  let n = 0;
  for (let i = 0; i < b.targets.length; i++) if (b.targets[i] >= 0) n++;
  return n;
}

/** Loss and gradient of the initial wkv `s0` over the micro-batches of one step (at least one counted target). */
export async function stepGradient(
  model: ChunkModel,
  batches: readonly Batch[],
  s0: Float32Array,
  o: StepGradientOptions,
): Promise<StepGradient> {
  const valid = batches.reduce((a, b) => a + countTargets(b), 0);
  if (valid === 0) throw new RangeError("the step's batches have no counted targets");
  // L2Wrap keeps PEFT's factor of the full samples, also for trimmed batches (docs/spec.md §3.12).
  const positions = batches.reduce((a, b) => a + b.batch * (b.sampleT ?? b.T), 0);
  const scales = { ceGradScale: 1 / valid, l2wrapScale: o.l2wrap ? 1e-4 / positions : 0 };
  if (o.into && o.into.length !== s0.length)
    throw new RangeError(`the gradient buffer has ${o.into.length} numbers, expected ${s0.length}`);
  const grad = o.into ?? new Float32Array(s0.length);
  let lossSum = 0;
  for (const [i, b] of batches.entries()) {
    const r = await chunkedBatch(model, b, s0, grad, {
      ...scales,
      chunkLen: o.chunkLen,
      layers: o.layers,
      signal: o.signal,
      gradMode: i === 0 ? "write" : "add",
    });
    lossSum += r.lossSum;
  }
  return { loss: lossSum / valid, grad, nTargets: valid };
}

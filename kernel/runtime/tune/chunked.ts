// Chunked BPTT over one micro-batch (docs/spec.md §3.10): a sample longer than chunkLen is cut into
// chunks that carry the recurrent state. The chunks run forward once keeping the states at their
// boundaries, then backward from the last to the first, each recomputed from its boundary state
// with the gradient of its final state arriving from the chunk after it. The gradient is exact
// (the unchunked one within fp32 rounding) and memory is that of one chunk plus one state per
// boundary, whatever the context length.
import type { Batch } from "../data/samplers";
import type { NativeBatchState, NativeLossResult, NativeTrainChunk } from "../native";
import type { StateDims } from "../model/dims";

/** What chunked BPTT needs of a model: its shape and one training chunk (Model has both). */
export interface ChunkModel {
  readonly config: StateDims;
  trainChunk(args: NativeTrainChunk, signal?: AbortSignal): Promise<NativeLossResult>;
}

export interface ChunkedOptions {
  /** Longest chunk in tokens. */
  chunkLen: number;
  /** Layers whose initial wkv is trained (default all); the backward stops at the lowest. */
  layers?: number[];
  /** 1 / (valid targets of the whole optimizer step): PEFT's mean over the step's targets. */
  ceGradScale: number;
  /** L2Wrap factor 1e-4 / (positions of the whole optimizer step), or 0. */
  l2wrapScale: number;
  /**
   * "add" (default): the gradient is added into `grad`. "write": it overwrites `grad`, which then
   * needs no zeroing and the call no temporary (a step's first micro-batch).
   */
  gradMode?: "add" | "write";
  signal?: AbortSignal;
}

export interface ChunkedResult {
  /** Σ cross entropy over the batch's counted targets. */
  lossSum: number;
  nTargets: number;
  /** Training calls made (forward-only and backward). */
  calls: number;
}

/** [start, length) of each chunk of a T-token sample. */
export function chunkBounds(T: number, chunkLen: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = 0; t < T; t += chunkLen) out.push([t, Math.min(chunkLen, T - t)]);
  return out;
}

/** Columns [t0, t0 + n) of every row of a [B, T] array. */
function columns(a: Int32Array, B: number, T: number, t0: number, n: number): Int32Array {
  if (t0 === 0 && n === T) return a;
  const out = new Int32Array(B * n);
  for (let b = 0; b < B; b++) out.set(a.subarray(b * T + t0, b * T + t0 + n), b * n);
  return out;
}

function batchState(d: StateDims, B: number): NativeBatchState {
  const LC = d.nLayer * d.nEmbd,
    S = d.nLayer * d.nHead * d.headSize * d.headSize;
  return { attX: new Float32Array(B * LC), wkv: new Float32Array(B * S), ffnX: new Float32Array(B * LC) };
}

/**
 * Loss of one micro-batch from the shared initial wkv `s0`, and with `grad` its gradient, added
 * into `grad` or written over it (o.gradMode; [L,H,N,N]; the layers not trained get nothing, or
 * zeros). Without `grad`: a forward pass only.
 */
export async function chunkedBatch(
  model: ChunkModel,
  batch: Batch,
  s0: Float32Array,
  grad: Float32Array | null,
  o: ChunkedOptions,
): Promise<ChunkedResult> {
  const { batch: B, T } = batch;
  const chunks = chunkBounds(T, o.chunkLen);
  const common = { batch: B, ceGradScale: o.ceGradScale, l2wrapScale: o.l2wrapScale, layers: o.layers };
  const part = (k: number) => {
    const [t0, n] = chunks[k];
    return { inputs: columns(batch.inputs, B, T, t0, n), targets: columns(batch.targets, B, T, t0, n), T: n };
  };
  // Forward: every chunk but the last (its backward call runs its forward), keeping boundary states.
  const last = grad ? chunks.length - 1 : chunks.length;
  const boundary: NativeBatchState[] = [];
  let lossSum = 0,
    nTargets = 0,
    calls = 0;
  for (let k = 0; k < last; k++) {
    const finalState = k < chunks.length - 1 ? batchState(model.config, B) : undefined;
    const from = k === 0 ? { s0 } : { init: boundary[k - 1] };
    const r = await model.trainChunk({ ...common, ...part(k), ...from, finalState }, o.signal);
    calls++;
    lossSum += r.lossSum;
    nTargets += r.nTargets;
    if (finalState) boundary.push(finalState);
  }
  if (!grad) return { lossSum, nTargets, calls };

  // Backward, last chunk first; dFinal of chunk k is the dInit of chunk k + 1. The first chunk's
  // call writes the whole gradient (fresh 2–10 MB arrays cost page faults: written in place when it may).
  const write = o.gradMode === "write";
  const gradS0 = write ? grad : new Float32Array(grad.length);
  let dFinal: NativeBatchState | undefined;
  for (let k = chunks.length - 1; k >= 0; k--) {
    const dInit = k > 0 ? batchState(model.config, B) : undefined;
    const from = k === 0 ? { s0, gradS0 } : { init: boundary[k - 1], dInit };
    const r = await model.trainChunk({ ...common, ...part(k), ...from, dFinal }, o.signal);
    calls++;
    if (k === chunks.length - 1) {
      lossSum += r.lossSum;
      nTargets += r.nTargets;
    }
    dFinal = dInit;
  }
  if (!write) for (let i = 0; i < grad.length; i++) grad[i] += gradS0[i];
  return { lossSum, nTargets, calls };
}

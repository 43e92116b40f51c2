// The ways RWKV trainers draw ctx_len+1-token samples from binidx data (docs/spec.md §3.7):
//  pad         PEFT `--dataload pad`: a shuffled permutation of document indices each epoch;
//              tokens run on past the document, targets past it are ignored (−100).
//  random      PEFT-2024 `get` / LM stage 0: uniform random offsets in the flat stream.
//  magic-prime LM `my_pile_stage > 0`: slot ((φ·n³) mod p)·ctx_len visits every slot once per pass.
// Sampler state is a counter, so resuming reproduces the exact sequence.
import type { TokenDataset } from "./dataset";
import { magicPrime, magicPrimeStart } from "./magic-prime";
import { randomIndex, seededPermutation, seededRandom } from "./random";
import { checkOptions, is, type Spec } from "../check";
import { DataError } from "../errors";

export type SamplerKind = "pad" | "random" | "magic-prime";

export interface Sample {
  /** ctx_len+1 tokens: inputs are tokens[0..ctx_len), targets tokens[1..ctx_len]. */
  tokens: Int32Array;
  /** Targets j < validTargets count; the rest are ignored (−100). */
  validTargets: number;
  /**
   * With a loss mask (SamplerOptions.lossMask): one byte per token; target j (token j+1) counts only
   * where mask[j+1] is 1 (docs/spec.md §5.4).
   */
  mask?: Uint8Array;
}

export interface SamplerState {
  kind: SamplerKind;
  seed: number;
  ctxLen: number;
  samplesDrawn: number;
}

export interface Sampler {
  readonly kind: SamplerKind;
  /** epochSteps · microBsz: samples per (mini-)epoch. */
  readonly samplesPerEpoch: number;
  next(): Sample;
  getState(): SamplerState;
  setState(s: SamplerState): void;
}

export interface SamplerOptions {
  kind: SamplerKind;
  ctxLen: number;
  microBsz: number;
  /**
   * Steps per (mini-)epoch. Default: pad → all documents (docCount / microBsz);
   * random → tokenCount / (ctxLen·microBsz); magic-prime → one pass over the prime's slots.
   */
  epochSteps?: number;
  seed: number;
  /** magic-prime only: the prime to use (default: magicPrime(tokenCount, ctxLen)). */
  magicPrime?: number;
  /** Samples carry the data's loss mask (the data must have one: TokenDataset.maskSlice). */
  lossMask?: boolean;
}

const SPEC: Spec = {
  kind: is.oneOf("pad", "random", "magic-prime"),
  ctxLen: is.int(1),
  microBsz: is.int(1),
  epochSteps: is.int(1),
  seed: is.int(),
  magicPrime: is.int(2),
  lossMask: is.boolean,
};

/** Tokens [offset, offset+length) of the data, with their mask bytes when `masked`. */
type Reader = (offset: number, length: number) => Pick<Sample, "tokens" | "mask">;

export function createSampler(ds: TokenDataset, opts: SamplerOptions): Sampler {
  checkOptions("createSampler", opts, SPEC, ["kind", "ctxLen", "microBsz", "seed"]);
  const { ctxLen } = opts;
  if (ds.tokenCount < ctxLen + 1)
    throw new DataError(`the data has ${ds.tokenCount} tokens, fewer than ctx_len+1 = ${ctxLen + 1}`);
  const maskSlice = ds.maskSlice?.bind(ds);
  if (opts.lossMask && !maskSlice)
    throw new DataError("the data has no loss mask: make it with make-data --format chat (or use lossMask: none)");
  const read: Reader = (offset, length) => ({
    tokens: ds.slice(offset, length),
    mask: opts.lossMask ? maskSlice!(offset, length) : undefined,
  });
  switch (opts.kind) {
    case "pad":
      return padSampler(ds, opts, read);
    case "random":
      return randomSampler(ds, opts, read);
    case "magic-prime":
      return magicPrimeSampler(ds, opts, read);
  }
}

/** Shared counter/state handling; `draw(k)` makes sample number k (0-based, over all epochs). */
function counterSampler(
  kind: SamplerKind,
  opts: SamplerOptions,
  samplesPerEpoch: number,
  draw: (k: number) => Sample,
): Sampler {
  let drawn = 0;
  return {
    kind,
    samplesPerEpoch,
    next: () => draw(drawn++),
    getState: () => ({ kind, seed: opts.seed, ctxLen: opts.ctxLen, samplesDrawn: drawn }),
    setState(s) {
      if (s.kind !== kind || s.seed !== opts.seed || s.ctxLen !== opts.ctxLen) {
        throw new Error(
          `sampler state is for ${s.kind} seed ${s.seed} ctx_len ${s.ctxLen}, ` +
            `this sampler is ${kind} seed ${opts.seed} ctx_len ${opts.ctxLen}`,
        );
      }
      if (!Number.isSafeInteger(s.samplesDrawn) || s.samplesDrawn < 0)
        throw new Error(`sampler state: bad samplesDrawn ${s.samplesDrawn}`);
      drawn = s.samplesDrawn;
    },
  };
}

function padSampler(ds: TokenDataset, opts: SamplerOptions, read: Reader): Sampler {
  const { ctxLen, microBsz, seed } = opts;
  const epochSteps = opts.epochSteps ?? Math.floor(ds.docCount / microBsz);
  const perEpoch = epochSteps * microBsz;
  if (perEpoch < 1 || perEpoch > ds.docCount) {
    throw new DataError(
      `pad sampling uses one document per sample: epoch_steps ${epochSteps} × micro_bsz ${microBsz} = ${perEpoch} ` +
        `samples need that many documents, the data has ${ds.docCount}`,
    );
  }
  let permEpoch = -1;
  let perm: Uint32Array = new Uint32Array(0);
  return counterSampler("pad", opts, perEpoch, (k) => {
    const epoch = Math.floor(k / perEpoch);
    if (epoch !== permEpoch) {
      perm = seededPermutation(perEpoch, seed, epoch);
      permEpoch = epoch;
    }
    const d = perm[k % perEpoch];
    const start = ds.docStart(d);
    const size = ds.docSize(d);
    const validTargets = Math.min(size, ctxLen + 1) - 1;
    if (start + ctxLen + 1 <= ds.tokenCount) return { ...read(start, ctxLen + 1), validTargets };
    // Past the end of the file the reference appends tokens from the start of the file.
    const own = read(start, ds.tokenCount - start),
      more = read(0, ctxLen + 1 - own.tokens.length);
    const tokens = new Int32Array(ctxLen + 1);
    tokens.set(own.tokens);
    tokens.set(more.tokens, own.tokens.length);
    let mask: Uint8Array | undefined;
    if (own.mask && more.mask) {
      mask = new Uint8Array(ctxLen + 1);
      mask.set(own.mask);
      mask.set(more.mask, own.mask.length);
    }
    return { tokens, mask, validTargets };
  });
}

function randomSampler(ds: TokenDataset, opts: SamplerOptions, read: Reader): Sampler {
  const { ctxLen, microBsz, seed } = opts;
  const starts = ds.tokenCount - ctxLen - 1; // offsets 0 .. data_size − ctx_len − 2
  if (starts < 1)
    throw new DataError(
      `random sampling needs at least ctx_len+2 = ${ctxLen + 2} tokens, the data has ${ds.tokenCount}`,
    );
  const epochSteps = opts.epochSteps ?? Math.max(1, Math.floor(ds.tokenCount / (ctxLen * microBsz)));
  return counterSampler("random", opts, epochSteps * microBsz, (k) => {
    const offset = randomIndex(seededRandom(seed, k), starts);
    return { ...read(offset, ctxLen + 1), validTargets: ctxLen };
  });
}

function magicPrimeSampler(ds: TokenDataset, opts: SamplerOptions, read: Reader): Sampler {
  const { ctxLen, microBsz } = opts;
  const p = opts.magicPrime ?? magicPrime(ds.tokenCount, ctxLen);
  if (p === null)
    throw new DataError(
      `no magic prime: the data has ${ds.tokenCount} tokens, the scheme needs at least 3·ctx_len = ${3 * ctxLen}`,
    );
  if (p * ctxLen + 1 > ds.tokenCount)
    throw new DataError(`magic prime ${p} × ctx_len ${ctxLen} + 1 exceeds the ${ds.tokenCount} tokens of the data`);
  const epochSteps = opts.epochSteps ?? Math.max(1, Math.floor(p / microBsz));
  return counterSampler("magic-prime", opts, epochSteps * microBsz, (k) => ({
    // n = 1 + epoch·samples_per_epoch + idx = 1 + k on one rank
    ...read(magicPrimeStart(1 + k, p, ctxLen), ctxLen + 1),
    validTargets: ctxLen,
  }));
}

/** Ignored-target marker of RWKV trainers (PyTorch cross-entropy ignore_index). */
export const IGNORE_TARGET = -100;

/**
 * What a batch does with the positions after its last counted target (docs/spec.md §3.12):
 *  trim  they are not run: T is the longest sample's count of valid targets. The loss and its CE
 *        gradient are exactly PEFT's; only PEFT's L2Wrap on those ignored positions is left out.
 *  peft  every sample keeps its full ctx_len positions, as RWKV-PEFT runs them.
 */
export type Padding = "trim" | "peft";

/** micro_bsz samples as the [batch, T] inputs/targets the loss takes (targets past validTargets = −100). */
export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  batch: number;
  /** Positions run per sample: sampleT, or fewer when trimmed. */
  T: number;
  nTargets: number;
  /** The samples' own length (ctx_len): PEFT's L2Wrap factor is 1e-4 / (batch · sampleT), trimmed or not. */
  sampleT?: number;
}

/**
 * Samples of one length as a [batch, T] batch: inputs tokens[0..T), targets tokens[1..T] (−100 past
 * validTargets). With padding "trim" (default) T stops at the last valid target of the whole batch.
 */
export function batchOf(samples: readonly Sample[], padding: Padding = "trim"): Batch {
  if (samples.length === 0) throw new RangeError("a batch needs at least one sample");
  const sampleT = samples[0].tokens.length - 1;
  samples.forEach(({ tokens }, b) => {
    if (tokens.length !== sampleT + 1)
      throw new RangeError(
        `sample ${b} has ${tokens.length} tokens, sample 0 has ${sampleT + 1}: a batch needs one length`,
      );
  });
  const longest = samples.reduce((m, s) => Math.max(m, s.validTargets), 1);
  const T = padding === "trim" ? Math.min(sampleT, longest) : sampleT;
  const inputs = new Int32Array(samples.length * T);
  const targets = new Int32Array(samples.length * T).fill(IGNORE_TARGET);
  let nTargets = 0;
  samples.forEach(({ tokens, validTargets, mask }, b) => {
    inputs.set(tokens.subarray(0, T), b * T);
    if (!mask) {
      targets.set(tokens.subarray(1, 1 + validTargets), b * T);
      nTargets += validTargets;
      return;
    }
    for (let j = 0; j < validTargets; j++)
      if (mask[j + 1]) {
        targets[b * T + j] = tokens[j + 1];
        nTargets++;
      }
  });
  return { inputs, targets, batch: samples.length, T, nTargets, sampleT };
}

/** The next microBsz samples of a sampler as one batch. */
export function nextBatch(sampler: Sampler, microBsz: number, padding: Padding = "trim"): Batch {
  return batchOf(
    Array.from({ length: microBsz }, () => sampler.next()),
    padding,
  );
}

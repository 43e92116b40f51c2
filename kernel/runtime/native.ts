// Loads the native addon once and types its surface. RWKV_NATIVE points at another build
// (each developer or CI job may build into its own folder).
import * as path from "node:path";
import * as fs from "node:fs";
import type { ModelDims } from "./model/dims";

export interface CudaDevice {
  index: number;
  name: string;
  totalMemory: number;
  computeCapability: string;
}
export type SimdPath = "avx512" | "avx2" | "portable";
export interface NativeInfo {
  /** The SIMD path the CPU kernels take (chosen from this CPU at load; RWKV_SIMD or setSimd() force one). */
  simd: SimdPath;
  /** Whether bf16 compute takes the bf16 kernels (AVX512_BF16 vdpbf16ps) on the path in use. */
  bf16Compute: boolean;
  /** What this CPU offers: its name, its SIMD-relevant features, and the paths it can run (best first). */
  cpu: { brand: string; features: string[]; simdPaths: SimdPath[] };
  threads: number;
  cuda: {
    compiled: boolean;
    available: boolean;
    devices: CudaDevice[];
    reason?: string;
    runtimeVersion?: number;
    /** Where a device is usable: bf16 GEMMs through cuBLAS (loaded at run time) or our own kernel. */
    gemm?: "cublas" | "own";
    /** The cuBLAS library loaded and its version, or why none is used (RWKV_CUBLAS). */
    cublas?: string;
  };
}

export type NativeDType = "f32" | "bf16" | "f16";
export type Quant = "none" | "nf4" | "int8";
/** A tensor handed to the addon: row-major bytes; the addon keeps a reference, never a copy. */
export interface NativeTensor {
  dtype: NativeDType;
  shape: number[];
  data: ArrayBufferView;
}
/** Recurrent state of one sequence: attX [L,C], wkv [L,H,N,N] ([head][value][key]), ffnX [L,C]. */
export interface NativeState {
  attX: Float32Array;
  wkv: Float32Array;
  ffnX: Float32Array;
}
/** Cancellation flag: an Int32Array(1) the addon polls between layers/chunks; set [0]=1 to abort. */
export type CancelFlag = Int32Array;
/** The stages the CPU backend's profiler times (native/src/cpu/profile.h). */
export type StageName = "other" | "gemm" | "wkv" | "norm" | "head" | "adam";

/** Arithmetic of the CPU backend's products: fp32, or bf16 products with fp32 sums (AVX512_BF16). */
export type Compute = "f32" | "bf16";

/**
 * Recurrent states of B sequences, sequence-major: attX [B,L,C], wkv [B,L,H,N,N], ffnX [B,L,C]
 * (sequence b's NativeState starts at b·L·C and b·L·H·N·N).
 */
export type NativeBatchState = NativeState;

/**
 * Soft targets (distillation, docs/spec.md §3.8): for each counted row (target ≠ −100) a teacher distribution q
 * instead of one id. Sparse: `k` entries per row, `ids` [M,k] (−1 = an unused entry) with `probs` [M,k]; the mass
 * r = 1 − Σ probs left over stands for every other id together, as one class ("the rest"). Dense: no `ids`, k = V,
 * probs [M,V]. The loss of a row is the cross entropy −Σ q·log p − r·log p(rest), p(rest) = Σ of the model's
 * probabilities of the ids not listed; its gradient w.r.t. the logits is p − q on listed ids and p·(1 − r/p(rest))
 * on the others. CPU backend only.
 */
export interface NativeSoftTargets {
  k: number;
  probs: Float32Array;
  ids?: Int32Array;
}

/** What a training call reports. */
export interface NativeLossResult {
  /** Σ cross-entropy over the targets that count. */
  lossSum: number;
  /** How many targets count (≠ −100). */
  nTargets: number;
  /** Layers whose backward ran: from the top down to the lowest trained layer (0 for a forward-only call). */
  layersBackward: number;
  /** Of those, layers whose forward was recomputed because their activations did not fit activationCacheMB. */
  layersRecomputed: number;
}

/** Options of the training calls that shape the backward. */
export interface NativeBackwardOptions {
  /**
   * Indices of the layers whose initial wkv states are trained (default: all). The backward stops at the
   * lowest of them: nothing below depends on a trained state. Gradients of other layers are written as zeros.
   */
  layers?: number[];
  /**
   * CPU: MiB of layer activations the forward keeps for the backward instead of recomputing them (default:
   * RWKV_ACT_CACHE_MB, else 512). The CUDA backend always recomputes.
   */
  activationCacheMB?: number;
}

/**
 * One chunk of a training micro-batch (chunked BPTT, as RWKV-PEFT's infctx): batch sequences of T tokens that
 * start from a carried state. Run the chunks of a sample forward once (no dInit/gradS0) keeping the states at
 * their boundaries, then each chunk again from the last to the first with dFinal = the dInit of the chunk after
 * it; with scales for the whole micro-batch the summed gradient equals the unchunked one.
 */
export interface NativeTrainChunk extends NativeBackwardOptions {
  inputs: Int32Array;
  /** [batch,T]; −100 = ignored. */
  targets: Int32Array;
  batch: number;
  T: number;
  /** The trained initial wkv [L,H,N,N], shared by every sequence, with zero shift states (a sample's first chunk). */
  s0?: Float32Array;
  /** Or the initial state of each sequence (every part required). */
  init?: NativeBatchState;
  /** Receives the final state of each sequence (parts left out are not written). */
  finalState?: Partial<NativeBatchState>;
  /** ∂L/∂(final state) of each sequence, from the chunks after this one (parts left out: zeros). */
  dFinal?: Partial<NativeBatchState>;
  /**
   * Receives ∂L/∂(initial state) of each sequence, for the chunk before. Exact wherever a trained state can reach
   * it: the lowest trained layer and above, except that layer's attX; the rest is written as zeros.
   */
  dInit?: Partial<NativeBatchState>;
  /** Receives Σ over sequences of ∂L/∂(initial wkv) [L,H,N,N] for the trained layers (zeros elsewhere). */
  gradS0?: Float32Array;
  /** Multiplies ∂CE_sum/∂logits: 1 / (valid targets of the whole micro-batch, all chunks). */
  ceGradScale: number;
  /** L2Wrap factor: 1e-4 / (batch · T of the whole sample), or 0 for none. */
  l2wrapScale: number;
  /** Teacher distributions instead of target ids on the counted rows (`targets` then only marks them). */
  soft?: NativeSoftTargets;
}

/** A forward over `tokens` from `state`, which it updates; logits gets [T,V] ("all") or [V] ("last"). */
type NativeForward = (
  tokens: Int32Array,
  state: NativeState,
  logits: Float32Array | null,
  mode: "none" | "last" | "all",
  cancel?: CancelFlag,
) => Promise<void>;

export interface NativeModel {
  /** Sequence mode. */
  forwardSeq: NativeForward;
  /** RNN mode: the tokens one at a time, in one call (no round trip through JS per token). */
  forwardRnn: NativeForward;
  /**
   * State tuning: inputs/targets [batch,T] (target -100 = ignored); every sequence starts from
   * wkv = s0 [L,H,N,N] and zero shift states. Writes gradS0 = d(mean CE [+ L2Wrap])/d s0 summed
   * over the batch; resolves with the summed CE and the number of targets.
   */
  lossAndGrad(
    inputs: Int32Array,
    targets: Int32Array,
    batch: number,
    T: number,
    s0: Float32Array,
    gradS0: Float32Array,
    opts: { l2wrap: boolean } & NativeBackwardOptions,
    cancel?: CancelFlag,
  ): Promise<NativeLossResult>;
  /** One chunk of chunked BPTT (see NativeTrainChunk); without dInit and gradS0 a forward pass only. */
  trainChunk(args: NativeTrainChunk, cancel?: CancelFlag): Promise<NativeLossResult>;
  /** Releases the native model (and its references to the weight buffers). */
  dispose(): void;
}

/** Shape of a WKV6 call: r/k/v/w/y are [B,T,H·N], u [H,N], state [B,H,N,N]. */
export interface Wkv6Shape {
  B: number;
  T: number;
  H: number;
  N: number;
}

/** Which WKV variant a test/bench binding call runs (native/src/cpu/wkv_impl.h); "auto" picks the fastest. */
export type WkvImpl = "auto" | "reference" | "sequential" | "chunked";
/**
 * Trailing options of the WKV test/bench bindings; repeat runs the op that many times (timing; in/out
 * arrays carry over).
 */
export interface WkvOptions {
  impl?: WkvImpl;
  repeat?: number;
}

/** Arguments of the matmul test binding: C[m,n] = A[m,k]·op(B) + beta·C (see native/src/cpu/gemm.h). */
export interface MatmulArgs {
  m: number;
  n: number;
  k: number;
  a: Float32Array;
  lda?: number;
  /** Float32Array for "f32", Uint16Array (raw bits) for "bf16"/"f16"; [n,k] when transB, else [k,n]. */
  b: Float32Array | Uint16Array;
  bType?: NativeDType;
  ldb?: number;
  transB: boolean;
  c: Float32Array;
  ldc?: number;
  beta?: 0 | 1;
  /** "fast" (default) or the plain triple loop it is tested against. */
  impl?: "fast" | "reference";
  /** Runs the product this many times (for timing; with beta 1 each run accumulates). */
  repeat?: number;
  /**
   * "f32" (default) or "bf16": A rounded to bf16 and bf16 dot products, where `info().bf16Compute`
   * and B is bf16 (otherwise computed as f32; see native/src/cpu/gemm.h).
   */
  precision?: "f32" | "bf16";
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
}

type F32 = Float32Array;
/** The operands of an RWKV-6 WKV op, in the bindings' order (CPU and CUDA alike). */
type Wkv6Inputs = [shape: Wkv6Shape, r: F32, k: F32, v: F32, w: F32, u: F32];
/** dy and dS_T in (dstate, ds0 out), then the operands' gradients (du summed over the batch). */
type Wkv6Grads = [dy: F32, dstate: F32, dr: F32, dk: F32, dv: F32, dw: F32, du: F32 | null];
/** The operands of an RWKV-7 WKV op, in the bindings' order (CPU and CUDA alike). */
type Wkv7Inputs = [shape: Wkv6Shape, r: F32, w: F32, k: F32, v: F32, a: F32, b: F32];
/** The operands' gradients and ds0. */
type Wkv7Grads = [dr: F32, dw: F32, dk: F32, dv: F32, da: F32, db: F32, ds0: F32];

/** The addon's exports; each binding file's members are declared here with their types. */
export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): number;
  /** Busy time per stage of the CPU backend from now on (bench; off by default); see stageTimes. */
  setProfiling(on: boolean): boolean;
  /**
   * Seconds per stage since the last reset (wall and process CPU time, exclusive: "gemm" inside the
   * head counts as gemm; "other" is what no stage claims: elementwise passes, token shift, copies).
   */
  stageTimes(reset?: boolean): Record<StageName, { wallS: number; cpuS: number }>;
  /** Forces a SIMD path for every kernel from now on; throws when this CPU cannot run it. */
  setSimd(path: SimdPath): SimdPath;
  /**
   * The model of these dims (LoRA widths come from the tensors). opts.quant ("nf4" | "int8") quantises the
   * big frozen matrices, CUDA only. opts.compute (default "f32") sets the arithmetic of the CPU backend's
   * products; the CUDA backend always multiplies bf16 on tensor cores and accepts only "bf16" there.
   */
  createModel(
    config: Omit<ModelDims, "lora">,
    tensors: Record<string, NativeTensor>,
    device?: "cpu" | "cuda",
    opts?: { quant?: Quant; compute?: Compute },
  ): NativeModel;
  /** One bias-corrected Adam update (torch.optim.Adam, no weight decay) in place on p, m, v. */
  adamStep(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, opts: AdamOptions): void;
  /** The WKV variant an "auto" call of that op and shape runs on the active SIMD path (RWKV_WKV counts). */
  wkvChoice(version: 6 | 7, backward: boolean, shape: Wkv6Shape, saved?: boolean): Exclude<WkvImpl, "auto">;
  /**
   * RWKV-6 WKV op (test/bench binding, synchronous); w = decay values; returns the chunk checkpoints
   * for wkv6Backward (opts.checkpoints, filled in place, when given).
   */
  wkv6Forward(...args: [...Wkv6Inputs, state: F32, y: F32, opts?: WkvOptions & { checkpoints?: F32 }]): F32;
  /** Its backward: dstate holds dS_T on entry, ds0 on exit; dw is w.r.t. the decay values; du summed over the batch. */
  wkv6Backward(...args: [...Wkv6Inputs, checkpoints: F32, ...Wkv6Grads, opts?: WkvOptions]): void;
  /**
   * RWKV-7 WKV op (test/bench binding, synchronous); w = ŵ (decay exp(−exp(ŵ))); state in = s0, out = final state.
   * opts.saved, when given, receives what the backward needs (per (sequence, head): T·N sa values, then the
   * state before every 16-step chunk).
   */
  wkv7Forward(...args: [...Wkv7Inputs, state: F32, y: F32, opts?: WkvOptions & { saved?: F32 }]): void;
  /** The length of wkv7Forward's opts.saved for a shape. */
  wkv7SavedFloats(shape: Wkv6Shape): number;
  /**
   * Its backward: gradients of Σy·dy (+ Σ S_T·dsT) w.r.t. every input (dw w.r.t. ŵ) and ds0 [B,H,N,N] (per
   * batch). With opts.saved (a forward's, same inputs and s0) it skips its own forward pass.
   */
  wkv7Backward(
    ...args: [...Wkv7Inputs, s0: F32, dy: F32, dsT: F32 | null, ...Wkv7Grads, opts?: WkvOptions & { saved?: F32 }]
  ): void;
  /** The whole file mapped read-only-to-disk (private copy-on-write) as an ArrayBuffer; unmapped when collected. */
  mmapFile(path: string): ArrayBuffer;
  /**
   * A Float32Array of n elements on memory recycled from the CPU block cache (big ones on huge
   * pages), for an array written whole right away: logits the runtime fills, kept copies of the
   * state. A fresh array pays a page fault per 4 KiB on first write. Its contents are unset.
   */
  outputFloat32(n: number): Float32Array;
  /** Synchronous GEMM on caller-owned arrays, for tests and benchmarks. */
  matmul(args: MatmulArgs): void;
  /**
   * GPU memory in bytes: the device's free/total and the CUDA backend's peak allocation since the
   * last reset (zeros without CUDA).
   */
  cudaMemoryStats(): { free: number; total: number; peakUsed: number };
  cudaResetPeakMemory(): void;
  /** true: time every GEMM call from now; false: stop and return the GEMMs' device time and flops. */
  cudaGemmProfile(start: boolean): { calls: number; seconds: number; flops: number };
  /** Seconds per call of the CUDA GEMM (fp32 A [M,K] · bf16/quantised Wᵀ [N,K]) on random data; throws without CUDA. */
  cudaTimeGemm(args: {
    M: number;
    N: number;
    K: number;
    quant?: "none" | "nf4" | "int8";
    reps?: number;
    /** "auto": as the model calls it; "own": our WMMA kernel; "cublas": the library alone on bf16 inputs. */
    impl?: "auto" | "own" | "cublas";
  }): number;
  /**
   * CUDA builds only: single CUDA ops on host arrays, mirroring wkv7Forward, wkv7Backward,
   * wkv6Forward, wkv6Backward and matmul (N = 64; backwards recompute from s0, no dsT).
   */
  cudaWkv7Forward?(...args: [...Wkv7Inputs, state: F32, y: F32]): void;
  cudaWkv7Backward?(...args: [...Wkv7Inputs, s0: F32, dy: F32, ...Wkv7Grads]): void;
  cudaWkv6Forward?(...args: [...Wkv6Inputs, state: F32, y: F32]): void;
  cudaWkv6Backward?(...args: [...Wkv6Inputs, s0: F32, ...Wkv6Grads]): void;
  cudaMatmul?(args: {
    m: number;
    n: number;
    k: number;
    a: Float32Array;
    b: Uint16Array;
    transB: boolean;
    c: Float32Array;
    quant?: "none" | "nf4" | "int8";
  }): void;
  [name: string]: unknown;
}

let cached: NativeAddon | undefined;

export function nativeAddonPath(): string {
  if (process.env.RWKV_NATIVE) return path.resolve(process.env.RWKV_NATIVE);
  // dist/kernel/runtime/native.js → package root is three levels up
  const root = path.resolve(__dirname, "..", "..", "..");
  return path.join(root, "native", "build", "rwkv_native.node");
}

export function native(): NativeAddon {
  if (cached) return cached;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    throw new Error(
      `rwkv-notebook: the native runtime is not built (${file} is missing). ` +
        "Run `npm run build` (needs cmake and g++).",
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node file found by path at run time
  cached = require(file) as NativeAddon;
  return cached;
}

/** What this installation runs on: threads, the SIMD path and CPU features, CUDA devices. */
export function runtimeInfo(): NativeInfo {
  return native().info();
}

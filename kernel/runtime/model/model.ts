// A loaded RWKV-7/RWKV-6 checkpoint: configuration from the tensors, weights handed to the native
// runtime in their file dtype (no copies), forward in sequence or RNN mode, loss, and the gradient
// of the loss with respect to the initial wkv state (what state tuning trains).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveSignal, withCancel } from "../cancel";
import { batchOf, type Batch } from "../data/samplers";
import { checkOptions, is, type Spec } from "../check";
import { CheckpointError, OptionsError, RwkvError } from "../errors";
import { logSumExp } from "../math";
import {
  native,
  type NativeLossResult,
  type NativeModel,
  type NativeSoftTargets,
  type NativeTensor,
  type NativeTrainChunk,
  type Quant,
} from "../native";
import { openCheckpoint, type Checkpoint } from "../checkpoint";
import { describeDims, sameStateDims } from "./dims";
import { detectConfig, timeStateLayer, type ModelConfig } from "./config";
import {
  loadTokenizer,
  registerTokenizerSource,
  tokenizerKindFor,
  type Tokenizer,
  type TokenizerKind,
} from "../tokenizer";
import { State } from "./state";
import { DEMO_ABOUT, DEMO_FILES } from "./demo";
import { generate, type GenerateOptions } from "./generate";

export type Device = "cpu" | "cuda";
/**
 * The arithmetic of the model's matrix products. "fp32" (the CPU default): fp32 products and sums.
 * "bf16": activations rounded to bf16, multiplied with the bf16 weights into fp32 sums (AVX512_BF16
 * `vdpbf16ps` on CPU; tensor cores on CUDA, which always compute so). README: its measured error.
 */
export type Compute = "fp32" | "bf16";
export interface LoadOptions {
  /**
   * "cpu" (default): everything the runtime does. "cuda": the GPU backend (bench/GPU.md), which does
   * not yet take a state per sequence (warm starts, chunkLen) or soft targets (compilePrompt) and
   * says so when asked. "auto": CUDA where a GPU is usable, else the CPU.
   */
  device?: Device | "auto";
  /**
   * The model's tokenizer: a kind, or a loaded tokenizer (e.g. another model's). Default: bytes for
   * a byte-sized vocabulary, else World with the vocab from `vocab`, $RWKV_VOCAB or beside the model.
   */
  tokenizer?: TokenizerKind | Tokenizer;
  /** The World vocab file (rwkv_vocab_v20230424.txt). */
  vocab?: string;
  /** nf4/int8 frozen matrices for state tuning on CUDA (docs/spec.md §3.9); default "none". */
  quant?: Quant;
  /** Default "fp32" on CPU, "bf16" on CUDA; "bf16" on CPU needs bf16 weights and AVX512_BF16. */
  compute?: Compute;
}
export interface ForwardOptions {
  state?: State;
  mode?: "seq" | "rnn";
  logits?: "all" | "last" | "none";
  signal?: AbortSignal;
}
export interface ForwardResult {
  logits?: Float32Array;
  state: State;
}

const LOAD_OPTIONS: Spec = {
  device: is.oneOf("cpu", "cuda", "auto"),
  tokenizer: is.either(is.oneOf("world", "bytes"), isTokenizer),
  vocab: is.string,
  quant: is.oneOf("none", "nf4", "int8"),
  compute: is.oneOf("fp32", "bf16"),
};
const STATE_OPTIONS: Spec = { state: is.instance(State), signal: is.signal };
const FORWARD_OPTIONS: Spec = {
  ...STATE_OPTIONS,
  mode: is.oneOf("seq", "rnn"),
  logits: is.oneOf("all", "last", "none"),
};
const GRAD_OPTIONS: Spec = {
  ...STATE_OPTIONS,
  l2wrap: is.boolean,
  soft: (v) =>
    typeof v === "object" && v !== null && (v as NativeSoftTargets).probs instanceof Float32Array
      ? undefined
      : "must be soft targets { k, probs, ids? }",
};

function resolveDevice(want: Device | "auto"): Device {
  if (want === "cpu") return "cpu";
  const cuda = native().info().cuda;
  if (want === "cuda" && !cuda.available)
    throw new RwkvError(
      `device "cuda" requested but CUDA is not available: ${
        cuda.reason ?? (cuda.compiled ? "no usable GPU found" : "this build has no CUDA backend")
      }`,
    );
  return cuda.available ? "cuda" : "cpu";
}

/** The compute a device runs for `want`, or an OptionsError saying why it cannot (no silent fallback). */
function resolveCompute(want: Compute | undefined, device: Device, cfg: ModelConfig, file: string): Compute {
  if (device === "cuda") {
    if (want === "fp32")
      throw new OptionsError(
        'compute "fp32" is not available on CUDA: its products are bf16 on tensor cores',
        "compute",
      );
    return "bf16";
  }
  if (want !== "bf16") return "fp32";
  const info = native().info();
  if (!info.bf16Compute) {
    const cpu = info.cpu.features.includes("avx512_bf16") ? `the SIMD path "${info.simd}"` : "this CPU";
    throw new OptionsError(`compute "bf16" needs AVX512_BF16 (vdpbf16ps), which ${cpu} lacks; use "fp32"`, "compute");
  }
  if (cfg.dtype !== "bf16")
    throw new OptionsError(`compute "bf16" needs bf16 weights; ${file} holds ${cfg.dtype}`, "compute");
  return "bf16";
}

export class Model {
  private tok?: Tokenizer;
  private wasDisposed = false;
  private baseHash?: string;
  private aboutText?: string;

  private constructor(
    readonly path: string,
    /** What the checkpoint holds: dims, dtype, parameter count (read from its tensors). */
    readonly config: ModelConfig,
    /** Where the weights live and the model runs. */
    readonly device: Device,
    /** The arithmetic of its products (LoadOptions.compute). */
    readonly compute: Compute,
    private readonly nativeModel: NativeModel,
    private readonly reader: Checkpoint,
    private readonly timeState: Float32Array | undefined,
    private readonly tokenizerOptions: { tokenizer?: TokenizerKind | Tokenizer; vocab?: string },
  ) {}

  static async load(file: string, opts: LoadOptions = {}): Promise<Model> {
    checkOptions("Model.load", opts, LOAD_OPTIONS);
    if (!fs.existsSync(file)) throw new CheckpointError("the model file does not exist", file);
    const device = resolveDevice(opts.device ?? "cpu");
    const reader = openCheckpoint(file);
    try {
      const detected = detectConfig(reader);
      const compute = resolveCompute(opts.compute, device, detected, file);
      const tensors: Record<string, NativeTensor> = {};
      const states: Float32Array[] = [];
      for (const name of reader.keys()) {
        const t = reader.read(name);
        const layer = timeStateLayer(name);
        if (layer !== undefined) {
          states[layer] = Float32Array.from(t.toFloat32());
          continue;
        }
        if (t.dtype !== "f32" && t.dtype !== "bf16" && t.dtype !== "f16")
          throw new CheckpointError(`dtype ${t.dtype}; weights must be f32, bf16 or f16`, file, name);
        tensors[name] = { dtype: t.dtype, shape: [...t.shape], data: t.data };
      }
      const timeState = Model.mergedTimeState(detected, states, file);
      const nativeModel = native().createModel(detected, tensors, device, {
        quant: opts.quant ?? "none",
        compute: compute === "fp32" ? "f32" : "bf16",
      });
      const model = new Model(path.resolve(file), detected, device, compute, nativeModel, reader, timeState, {
        tokenizer: opts.tokenizer,
        vocab: opts.vocab,
      });
      registerTokenizerSource(model); // makeData & co. default to this model's tokenizer
      return model;
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  /**
   * The small byte-level RWKV-7 the project ships (assets/demo): it knows two voices, a plain
   * assistant and a pirate, and nothing else (see `about`). Loads in well under a second.
   */
  static async demo(opts: Pick<LoadOptions, "device"> = {}): Promise<Model> {
    checkOptions("Model.demo", opts, { device: LOAD_OPTIONS.device });
    const model = await Model.load(DEMO_FILES.model, { ...opts, tokenizer: "bytes" });
    model.aboutText = DEMO_ABOUT;
    return model;
  }

  /** What a built-in model is and what it cannot do (the demo model); undefined for a checkpoint you load. */
  get about(): string | undefined {
    return this.aboutText;
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.wasDisposed;
  }

  /** "bytes" or "world": the kind of this model's tokenizer, known without reading a vocab file. */
  get tokenizerKind(): TokenizerKind {
    const t = this.tokenizerOptions.tokenizer;
    if (typeof t === "string") return t;
    if (typeof t === "object") return t.name;
    return tokenizerKindFor(this.config.vocabSize);
  }

  /** A merged checkpoint's time_state keys as one [L,H,N,N] array (all layers or none). */
  private static mergedTimeState(cfg: ModelConfig, states: Float32Array[], file: string): Float32Array | undefined {
    const present = states.filter((s) => s !== undefined).length;
    if (present === 0) return undefined;
    const per = cfg.nHead * cfg.headSize * cfg.headSize;
    if (present !== cfg.nLayer || states.length !== cfg.nLayer)
      throw new CheckpointError(`has time_state for ${present} of ${cfg.nLayer} layers`, file);
    const out = new Float32Array(cfg.nLayer * per);
    states.forEach((s, l) => {
      out.set(s, l * per); // detectConfig checked each is [H,N,N]
    });
    return out;
  }

  private get native(): NativeModel {
    if (this.wasDisposed) throw new Error(`model ${path.basename(this.path)} was disposed`);
    return this.nativeModel;
  }

  /**
   * The tokenizer, resolved on first use: as loaded ({ tokenizer }), else the one the vocabulary
   * implies (bytes for a byte-sized vocabulary, else World: vocab from { vocab }, $RWKV_VOCAB or
   * beside the model).
   */
  get tokenizer(): Tokenizer {
    const t = this.tokenizerOptions.tokenizer;
    this.tok ??=
      typeof t === "object"
        ? t
        : loadTokenizer({
            kind: t ?? tokenizerKindFor(this.config.vocabSize),
            vocab: this.tokenizerOptions.vocab,
            modelPath: this.path,
          });
    return this.tok;
  }

  newState(): State {
    return new State(this.config);
  }

  /** Zero state, or for a merged checkpoint wkv = its time_state with zero shifts. */
  get defaultState(): State {
    return new State(this.config, this.timeState ? { wkv: this.timeState.slice() } : undefined);
  }

  /** Token ids as Int32Array, each checked to be an integer id of the vocabulary (checked before any conversion). */
  private tokensOf(tokens: ArrayLike<number>, min = 1): Int32Array {
    if (typeof tokens !== "object" || tokens === null || typeof tokens.length !== "number")
      throw new OptionsError(`tokens must be an array of token ids, got ${String(tokens)}`, "tokens");
    if (tokens.length < min) throw new OptionsError(`need at least ${min} token(s), got ${tokens.length}`, "tokens");
    const V = this.config.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id))
        throw new OptionsError(`token ${id} at position ${i} is not an integer token id`, "tokens");
      if (id < 0 || id >= V)
        throw new OptionsError(`token ${id} at position ${i} is outside the vocabulary 0..${V - 1}`, "tokens");
    }
    return tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
  }

  private checkState(s: State): void {
    const c = this.config;
    if (!sameStateDims(s, c)) {
      throw new OptionsError(`state dims ${describeDims(s)} do not match the model's ${describeDims(c)}`, "state");
    }
  }

  /** Runs tokens from `state` (default: defaultState; never modified) and returns the new state. */
  async forward(tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<ForwardResult> {
    checkOptions("Model.forward", opts, FORWARD_OPTIONS);
    const t = this.tokensOf(tokens);
    const mode = opts.mode ?? "seq",
      want = opts.logits ?? "last";
    if (opts.state) this.checkState(opts.state);
    const state = opts.state ? opts.state.clone() : this.defaultState;
    const V = this.config.vocabSize;
    // On recycled memory: a fresh [T, V] array's first-touch page faults can cost more than the forward.
    const logits = want === "none" ? undefined : native().outputFloat32(want === "all" ? t.length * V : V);
    await this.run(t, state, logits, want, mode, resolveSignal(opts.signal));
    return { logits, state };
  }

  /** In-place forward on `state` (forward clones first; generation steps one token on its own state). */
  private async run(
    t: Int32Array,
    state: State,
    logits: Float32Array | undefined,
    want: "all" | "last" | "none",
    mode: "seq" | "rnn",
    signal?: AbortSignal,
  ): Promise<void> {
    await withCancel(signal, (flag) => {
      const args = [t, state, logits ?? null, want, flag] as const;
      return mode === "seq" ? this.native.forwardSeq(...args) : this.native.forwardRnn(...args);
    });
  }

  /** Mean next-token cross entropy of tokens[1..T) given tokens[0..T-1), from `state` (default: defaultState). */
  async loss(tokens: ArrayLike<number>, opts: { state?: State; signal?: AbortSignal } = {}): Promise<number> {
    checkOptions("Model.loss", opts, STATE_OPTIONS);
    const t = this.tokensOf(tokens, 2);
    const { logits } = await this.forward(t.subarray(0, t.length - 1), {
      state: opts.state,
      logits: "all",
      signal: opts.signal,
    });
    return meanCrossEntropy(logits!, t.subarray(1), this.config.vocabSize);
  }

  /**
   * The loss and its gradient with respect to the initial wkv state [L,H,N,N], as state tuning
   * computes them: every sequence starts from `state`'s wkv (default: defaultState) with zero token
   * shifts. `input` is one token sequence (inputs [0..T-1), targets [1..T)) or a batch (targets −100
   * ignored); the loss is the mean cross entropy over the valid targets, plus PEFT's L2Wrap term in
   * the gradient when l2wrap is set (factor 1e-4 / (batch · sampleT), also for a trimmed batch). With
   * `soft` the counted rows are scored against teacher distributions instead of the target ids (see
   * NativeSoftTargets; prompt compilation uses it).
   */
  async gradToState(
    input: ArrayLike<number> | Batch,
    opts: { state?: State; l2wrap?: boolean; soft?: NativeSoftTargets; signal?: AbortSignal } = {},
  ): Promise<{ loss: number; grad: Float32Array; nTargets: number }> {
    checkOptions("Model.gradToState", opts, GRAD_OPTIONS);
    const b = isBatch(input) ? input : batchOf([{ tokens: this.tokensOf(input, 2), validTargets: input.length - 1 }]);
    this.tokensOf(b.inputs);
    if (opts.state) this.checkState(opts.state);
    const s0 = (opts.state ?? this.defaultState).wkv;
    const grad = new Float32Array(s0.length);
    // Explicit scales: a trimmed batch keeps PEFT's L2Wrap factor of the full sample (docs/spec.md §3.12).
    const l2wrapScale = opts.l2wrap ? 1e-4 / (b.batch * (b.sampleT ?? b.T)) : 0; // a hand-made Batch may lack sampleT
    const { inputs, targets, batch, T } = b;
    const soft = opts.soft;
    if (!soft && b.nTargets === 0) throw new RangeError("the batch has no valid targets (all are −100)");
    const ceGradScale = b.nTargets > 0 ? 1 / b.nTargets : 0;
    const args = { inputs, targets, batch, T, s0, gradS0: grad, ceGradScale, l2wrapScale, ...(soft ? { soft } : {}) };
    const r = await withCancel(resolveSignal(opts.signal), (flag) => this.native.trainChunk(args, flag));
    if (r.nTargets === 0) throw new RangeError("the batch has no valid targets (all are −100)");
    return { loss: r.lossSum / r.nTargets, grad, nTargets: r.nTargets };
  }

  /**
   * One chunk of chunked BPTT (NativeTrainChunk): the call the tuner builds accumulation, long
   * contexts and layer subsets from (tune/chunked.ts). Token ids are checked first.
   */
  async trainChunk(args: NativeTrainChunk, signal?: AbortSignal): Promise<NativeLossResult> {
    this.tokensOf(args.inputs);
    return withCancel(resolveSignal(signal), (flag) => this.native.trainChunk(args, flag));
  }

  /** The whole generated text at once: `generate` with the same options, collected. */
  async complete(prompt: string, opts: GenerateOptions = {}): Promise<string> {
    let text = "";
    for await (const piece of this.generate(prompt, opts)) text += piece;
    return text;
  }

  /** Streams generated text; see generate.ts. */
  generate(prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string> {
    // generate.ts drives the model through these two calls, so it needs no import of Model.
    const tokenizer = (): Tokenizer => this.tokenizer;
    return generate(
      {
        get tokenizer() {
          return tokenizer();
        },
        prefill: (ids, state, signal) => this.forward(ids, { state, logits: "last", signal }),
        step: (id, state, logits, signal) => this.run(Int32Array.of(id), state, logits, "last", "rnn", signal),
      },
      prompt,
      opts,
    );
  }

  /** sha256 of the checkpoint file (state-file provenance), computed once. */
  async checkpointHash(): Promise<string> {
    if (!this.baseHash) {
      const h = crypto.createHash("sha256");
      for await (const chunk of fs.createReadStream(this.path)) h.update(chunk as Uint8Array);
      this.baseHash = h.digest("hex");
    }
    return this.baseHash;
  }

  dispose(): void {
    if (this.wasDisposed) return;
    this.wasDisposed = true;
    this.nativeModel.dispose();
    this.reader.close();
  }
}

function isTokenizer(v: unknown): string | undefined {
  const t = v as Partial<Tokenizer>;
  const ok = typeof v === "object" && v !== null && typeof t.encode === "function" && typeof t.decode === "function";
  return ok ? undefined : 'must be "world", "bytes" or a Tokenizer (e.g. another model\'s model.tokenizer)';
}

function isBatch(x: ArrayLike<number> | Batch): x is Batch {
  return (x as Batch).inputs instanceof Int32Array && (x as Batch).targets instanceof Int32Array;
}

/** Mean CE of targets (ids ≥ 0) under logits [T,V], float64 log-sum-exp per row. */
export function meanCrossEntropy(logits: Float32Array, targets: Int32Array, V: number): number {
  let sum = 0,
    n = 0;
  for (let t = 0; t < targets.length; t++) {
    if (targets[t] < 0) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    sum += logSumExp(row) - row[targets[t]];
    n++;
  }
  return sum / n;
}

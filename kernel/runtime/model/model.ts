// A loaded RWKV-7/RWKV-6 checkpoint: configuration from the tensors, weights handed to the native
// runtime in their file dtype (no copies), forward in sequence or RNN mode, loss, and the gradient
// of the loss with respect to the initial wkv state (what state tuning trains).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { displaySymbol, type MimeBundle } from "../../display/bundle";
import { cellContext } from "../../display/context";
import { native, type Quant, type CancelFlag, type NativeModel, type NativeTensor } from "../native";
import { openCheckpoint, type Checkpoint } from "../checkpoint";
import { detectConfig, type ModelConfig as DetectedConfig } from "./config";
import { loadTokenizer, type Tokenizer, type TokenizerKind } from "../tokenizer";
import { State } from "./state";
import { generate, type GenerateOptions } from "./generate";

export type Device = "cpu" | "cuda";
/** The detected configuration (version, dims, dtype, params...) and the device the model runs on. */
export type ModelConfig = DetectedConfig & { device: Device };
export interface LoadOptions {
  device?: Device | "auto";
  tokenizer?: TokenizerKind;
  vocab?: string;
  /** nf4/int8 frozen matrices for state tuning on CUDA (docs/spec.md §3.9); default "none". */
  quant?: Quant;
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

/** A cancel flag raised when the signal fires; `done()` detaches the listener. */
export function cancelFlagFor(signal: AbortSignal | undefined): { flag: CancelFlag; done(): void } {
  const flag = new Int32Array(1);
  if (!signal) return { flag, done() {} };
  if (signal.aborted) flag[0] = 1;
  const onAbort = () => {
    flag[0] = 1;
  };
  signal.addEventListener("abort", onAbort, { once: true });
  return { flag, done: () => signal.removeEventListener("abort", onAbort) };
}

export function abortError(): Error {
  const e = new Error("aborted");
  e.name = "AbortError";
  return e;
}

function resolveDevice(want: Device | "auto"): Device {
  if (want !== "cpu" && want !== "cuda" && want !== "auto")
    throw new Error(`device must be "cpu", "cuda" or "auto", got '${want as string}'`);
  if (want === "cpu") return "cpu";
  const cuda = native().info().cuda;
  if (want === "cuda" && !cuda.available)
    throw new Error(
      `device "cuda" requested but CUDA is not available: ${cuda.reason ?? (cuda.compiled ? "no usable GPU found" : "this build has no CUDA backend")}`,
    );
  return cuda.available ? "cuda" : "cpu";
}

export class Model {
  private tok?: Tokenizer;
  private disposed = false;
  private baseHash?: string;

  private constructor(
    readonly path: string,
    readonly config: ModelConfig,
    private readonly nativeModel: NativeModel,
    private readonly reader: Checkpoint,
    private readonly timeState: Float32Array | undefined,
    private readonly tokenizerOptions: { kind?: TokenizerKind; vocab?: string },
  ) {}

  static async load(file: string, opts: LoadOptions = {}): Promise<Model> {
    if (!fs.existsSync(file)) throw new Error(`model file ${file} does not exist`);
    const device = resolveDevice(opts.device ?? "auto");
    const reader = openCheckpoint(file);
    try {
      const detected = detectConfig(reader);
      const tensors: Record<string, NativeTensor> = {};
      const states: Float32Array[] = [];
      for (const name of reader.keys()) {
        const t = reader.read(name);
        const m = /^blocks\.(\d+)\.att\.time_state$/.exec(name);
        if (m) {
          states[Number(m[1])] = Float32Array.from(t.toFloat32());
          continue;
        }
        if (t.dtype !== "f32" && t.dtype !== "bf16" && t.dtype !== "f16")
          throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}; weights must be f32, bf16 or f16`);
        tensors[name] = { dtype: t.dtype, shape: [...t.shape], data: t.data };
      }
      const config: ModelConfig = { ...detected, device };
      const timeState = Model.mergedTimeState(config, states, file);
      const nativeModel = native().createModel({ ...config, vocab: config.vocabSize }, tensors, device, {
        quant: opts.quant ?? "none",
      });
      return new Model(path.resolve(file), config, nativeModel, reader, timeState, {
        kind: opts.tokenizer,
        vocab: opts.vocab,
      });
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  /** A merged checkpoint's time_state keys as one [L,H,N,N] array (all layers or none). */
  private static mergedTimeState(cfg: ModelConfig, states: Float32Array[], file: string): Float32Array | undefined {
    const present = states.filter((s) => s !== undefined).length;
    if (present === 0) return undefined;
    const per = cfg.nHead * cfg.headSize * cfg.headSize;
    if (present !== cfg.nLayer || states.length !== cfg.nLayer)
      throw new Error(`${file}: has time_state for ${present} of ${cfg.nLayer} layers`);
    const out = new Float32Array(cfg.nLayer * per);
    states.forEach((s, l) => {
      if (s.length !== per)
        throw new Error(
          `${file}: blocks.${l}.att.time_state has ${s.length} numbers, expected [${cfg.nHead},${cfg.headSize},${cfg.headSize}]`,
        );
      out.set(s, l * per);
    });
    return out;
  }

  private get native(): NativeModel {
    if (this.disposed) throw new Error(`model ${path.basename(this.path)} was disposed`);
    return this.nativeModel;
  }

  /** The tokenizer, resolved on first use: as loaded ({ tokenizer }), else bytes for a ≤257-id vocabulary, else World. */
  get tokenizer(): Tokenizer {
    if (!this.tok) {
      try {
        // A model whose vocabulary holds just the bytes (ids 0..256) is byte-level; others are World.
        const kind = this.tokenizerOptions.kind ?? (this.config.vocabSize <= 257 ? "bytes" : undefined);
        this.tok = loadTokenizer({ kind, vocab: this.tokenizerOptions.vocab, modelPath: this.path });
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\nA World model needs rwkv_vocab_v20230424.txt (from https://github.com/BlinkDL/ChatRWKV/tree/main/tokenizer or RWKV-LM): pass { vocab: "<path>" }, set RWKV_VOCAB, or put it beside the model.`,
        );
      }
    }
    return this.tok;
  }

  newState(): State {
    return new State(this.config);
  }

  /** Zero state, or for a merged checkpoint wkv = its time_state with zero shifts. */
  get defaultState(): State {
    return new State(this.config, this.timeState ? { wkv: this.timeState.slice() } : undefined);
  }

  private tokensOf(tokens: ArrayLike<number>, min = 1): Int32Array {
    const t = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
    if (t.length < min) throw new Error(`need at least ${min} token(s), got ${t.length}`);
    const V = this.config.vocabSize;
    for (let i = 0; i < t.length; i++) {
      if (!Number.isInteger(t[i]) || t[i] < 0 || t[i] >= V)
        throw new RangeError(`token ${t[i]} at position ${i} is outside the vocabulary 0..${V - 1}`);
    }
    return t;
  }

  private checkState(s: State): void {
    const c = this.config;
    if (s.nLayer !== c.nLayer || s.nEmbd !== c.nEmbd || s.nHead !== c.nHead || s.headSize !== c.headSize) {
      throw new Error(
        `state dims L${s.nLayer} C${s.nEmbd} H${s.nHead} N${s.headSize} do not match the model's L${c.nLayer} C${c.nEmbd} H${c.nHead} N${c.headSize}`,
      );
    }
  }

  /** Runs tokens from `state` (default: defaultState; never modified) and returns the new state. */
  async forward(tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<ForwardResult> {
    const t = this.tokensOf(tokens);
    const mode = opts.mode ?? "seq",
      want = opts.logits ?? "last";
    if (mode !== "seq" && mode !== "rnn") throw new Error(`mode must be "seq" or "rnn", got '${mode as string}'`);
    if (want !== "all" && want !== "last" && want !== "none")
      throw new Error(`logits must be "all", "last" or "none", got '${want as string}'`);
    if (opts.state) this.checkState(opts.state);
    const state = opts.state ? opts.state.clone() : this.defaultState;
    const V = this.config.vocabSize;
    const logits = want === "none" ? undefined : new Float32Array(want === "all" ? t.length * V : V);
    await this.run(t, state, logits, want, mode, opts.signal ?? cellContext()?.signal);
    return { logits, state };
  }

  /** In-place forward on `state` (used by generation and evaluation). */
  async run(
    t: Int32Array,
    state: State,
    logits: Float32Array | undefined,
    want: "all" | "last" | "none",
    mode: "seq" | "rnn",
    signal?: AbortSignal,
  ): Promise<void> {
    if (signal?.aborted) throw abortError();
    if (mode === "seq") {
      const c = cancelFlagFor(signal);
      try {
        await this.native.forwardSeq(t, state, logits ?? null, want, c.flag);
      } catch (e) {
        throw signal?.aborted ? abortError() : e;
      } finally {
        c.done();
      }
      return;
    }
    const V = this.config.vocabSize;
    for (let i = 0; i < t.length; i++) {
      if (signal?.aborted) throw abortError();
      const out = !logits
        ? null
        : want === "all"
          ? logits.subarray(i * V, (i + 1) * V)
          : i === t.length - 1
            ? logits
            : null;
      await this.native.forwardRnn(t[i], state, out);
    }
  }

  /** Mean next-token cross entropy of tokens[1..T) given tokens[0..T-1), from `state` (default: defaultState). */
  async loss(tokens: ArrayLike<number>, opts: { state?: State; signal?: AbortSignal } = {}): Promise<number> {
    const t = this.tokensOf(tokens, 2);
    const { logits } = await this.forward(t.subarray(0, t.length - 1), {
      state: opts.state,
      logits: "all",
      signal: opts.signal,
    });
    return meanCrossEntropy(logits!, t.subarray(1), this.config.vocabSize);
  }

  /**
   * d(mean CE)/d(initial wkv) [L,H,N,N] over tokens (inputs [0..T-1), targets [1..T)), starting from
   * `state`'s wkv with zero token shifts, as state tuning does. l2wrap adds PEFT's L2Wrap term.
   */
  async gradToState(
    tokens: ArrayLike<number>,
    opts: { state?: State; l2wrap?: boolean; signal?: AbortSignal } = {},
  ): Promise<{ loss: number; grad: Float32Array }> {
    const t = this.tokensOf(tokens, 2);
    if (opts.state) this.checkState(opts.state);
    const s0 = (opts.state ?? this.defaultState).wkv;
    const grad = new Float32Array(s0.length);
    const T = t.length - 1;
    const signal = opts.signal ?? cellContext()?.signal;
    if (signal?.aborted) throw abortError();
    const c = cancelFlagFor(signal);
    try {
      const r = await this.native.lossAndGrad(
        t.slice(0, T),
        t.slice(1),
        1,
        T,
        s0,
        grad,
        { l2wrap: opts.l2wrap ?? false },
        c.flag,
      );
      return { loss: r.lossSum / r.nTargets, grad };
    } catch (e) {
      throw signal?.aborted ? abortError() : e;
    } finally {
      c.done();
    }
  }

  /** Batched loss and gradient for the tuner (targets −100 ignored). */
  lossAndGrad(
    inputs: Int32Array,
    targets: Int32Array,
    batch: number,
    T: number,
    s0: Float32Array,
    grad: Float32Array,
    l2wrap: boolean,
    cancel: CancelFlag,
  ): Promise<{ lossSum: number; nTargets: number }> {
    return this.native.lossAndGrad(inputs, targets, batch, T, s0, grad, { l2wrap }, cancel);
  }

  /** Streams generated text; see generate.ts. */
  generate(prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string> {
    return generate(this, prompt, opts);
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
    if (this.disposed) return;
    this.disposed = true;
    this.nativeModel.dispose();
    this.reader.close();
  }

  [displaySymbol](): MimeBundle {
    const c = this.config;
    const rows: Array<[string, string]> = [
      ["file", path.basename(this.path)],
      ["version", `RWKV-${c.version}`],
      ["layers", String(c.nLayer)],
      ["embedding", String(c.nEmbd)],
      ["heads × head size", `${c.nHead} × ${c.headSize}`],
      ["vocabulary", String(c.vocabSize)],
      ["FFN width", String(c.dimFfn)],
      ["parameters", c.params.toLocaleString("en-US")],
      ["dtype", c.dtype],
      ["device", c.device],
      ["default state", this.timeState ? "merged time_state" : "zero"],
    ];
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    return {
      "text/plain": `Model(${rows.map(([k, v]) => `${k}: ${v}`).join(", ")})`,
      "text/html": `<table><tbody>${rows.map(([k, v]) => `<tr><th style="text-align:left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</tbody></table>`,
    };
  }
}

/** Mean CE of targets (ids ≥ 0) under logits [T,V], float64 log-sum-exp per row. */
export function meanCrossEntropy(logits: Float32Array, targets: Int32Array, V: number): number {
  let sum = 0,
    n = 0;
  for (let t = 0; t < targets.length; t++) {
    if (targets[t] < 0) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(row[i] - max);
    sum += max + Math.log(s) - row[targets[t]];
    n++;
  }
  return sum / n;
}

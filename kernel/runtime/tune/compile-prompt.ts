// Prompt → state compiler: a state that makes the model WITHOUT a system prompt behave as it does
// WITH it, so conversations stop paying for the prompt's tokens. The teacher is the model after
// reading the prompt (full state, token shifts included); the student is the model from a trained
// wkv state with zero shifts (how a state file is mounted). It starts from the wkv the prompt itself
// leaves (what the prompt costs without its shifts is the warm start's KL), then minimises
// KL(p(·|prompt, x) ‖ p(·|state, x)) over continuations x, from data or sampled from the prompted
// model, with the native head's soft-target cross entropy (KL = CE − H(teacher)). Fidelity is
// measured on held-out continuations: mean KL per token and top-1 agreement; the result keeps the
// best state measured (the start counts). `start: "zero"` skips the warm start, to show what the
// distillation alone achieves.
import { resolveSignal, throwIfAborted } from "../cancel";
import { checkOptions, is, type Spec } from "../check";
import { seededPermutation } from "../data/random";
import { DataError, OptionsError } from "../errors";
import { divergence } from "../inspect/divergence";
import { heldOutDocs, type HeldOutData } from "../inspect/held-out";
import type { Model } from "../model/model";
import { stateAfterText } from "../model/prompt-state";
import { sampleToken, samplerRandom } from "../model/sampling";
import { State } from "../model/state";
import { END_OF_DOC } from "../tokenizer/types";
import { Adam, clipGradNorm } from "./adam";
import { learningRate } from "./schedule";
import { modelProvenance } from "./provenance";
import { targetRows, teacherTargets, type TeacherTargets } from "./soft-targets";
import type { StateSaveOptions } from "./state-file";

/** How close a state comes to the prompted model on held-out continuations. */
export interface Fidelity {
  /** Mean KL(prompted ‖ state) per token, in nats. */
  kl: number;
  /** Share of positions where both put the same token first. */
  top1: number;
  positions: number;
}

/** One compile step. */
export interface CompileRecord {
  step: number;
  /** KL of the step's batch (over the classes of the soft targets), nats per token. */
  kl: number;
  lr: number;
  gradNorm: number;
  /** Held-out fidelity, on the steps where it was measured. */
  heldOut?: Fidelity;
}

/** What a compile has done so far (the fidelity meter reads it). */
export interface CompileProgress {
  prompt: string;
  /** Tokens of the prompt: what every conversation saves with the compiled state. */
  promptTokens: number;
  totalSteps: number;
  history: CompileRecord[];
  /** Held-out fidelity of the zero state (the model with no prompt) and of the warm start. */
  zero: Fidelity;
  warm: Fidelity;
  /** Where the state started: the prompt's wkv (the warm start) or zeros. */
  start: "prompt" | "zero";
  /** The best state measured so far and its step (0 = the start). */
  best: { step: number; fidelity: Fidelity };
}

/** The result of compilePrompt (shown in a notebook as a summary and the fidelity figure). */
export class CompiledPrompt implements CompileProgress {
  readonly prompt: string;
  readonly promptTokens: number;
  readonly totalSteps: number;
  readonly history: CompileRecord[];
  readonly zero: Fidelity;
  readonly warm: Fidelity;
  readonly start: "prompt" | "zero";
  readonly best: { step: number; fidelity: Fidelity };
  constructor(
    progress: CompileProgress,
    private readonly model: Model,
    /** The compiled state (wkv; zero shifts): mount it instead of the prompt. */
    readonly state: State,
    /** The state the prompt itself leaves, shifts dropped (the warm start). */
    readonly warmState: State,
    /** Continuations trained on and measured on. */
    readonly continuations: { train: number; heldOut: number },
  ) {
    ({
      prompt: this.prompt,
      promptTokens: this.promptTokens,
      totalSteps: this.totalSteps,
      history: this.history,
      zero: this.zero,
      warm: this.warm,
      start: this.start,
      best: this.best,
    } = progress);
  }

  /**
   * Saves the compiled state (RWKV-PEFT layout, mounted with zero shifts as any state file); safetensors
   * files record the model's provenance, the prompt, the steps and the held-out KL.
   */
  async save(file: string, opts: StateSaveOptions = {}): Promise<void> {
    const provenance = {
      ...(await modelProvenance(this.model)),
      compiled_prompt: this.prompt,
      steps: this.best.step,
      heldout_kl: this.fidelity.kl,
      ...opts.provenance,
    };
    await this.state.save(file, { ...opts, provenance });
  }

  /** The compiled state's held-out fidelity (the best measured). */
  get fidelity(): Fidelity {
    return this.best.fidelity;
  }

  /** How much of the no-prompt KL the compiled state removes (1 = all). */
  get klDrop(): number {
    return this.zero.kl > 0 ? 1 - this.fidelity.kl / this.zero.kl : 0;
  }
}

export interface CompileObserver {
  onStep?(record: CompileRecord, progress: CompileProgress): void;
  onEnd?(progress: CompileProgress): void;
}

export interface CompileOptions extends CompileObserver {
  /** Continuations to train on: documents of a dataset, texts or a jsonl file (default: sampled). */
  data?: HeldOutData;
  /** Continuations sampled from the prompted model when there is no data (default 64). */
  samples?: number;
  /** Held-out continuations for the fidelity (default: sampled with another seed, or 1/8 of data). */
  heldOut?: HeldOutData;
  /** Held-out continuations measured (default 16). */
  heldOutSamples?: number;
  steps?: number;
  /** Tokens per continuation (default 128). */
  ctxLen?: number;
  microBsz?: number;
  /** Adam's learning rate, cosine to lrFinal (defaults 0.01 → 0.001). */
  lr?: number;
  lrFinal?: number;
  gradClip?: number;
  /** Teacher ids per position (default: the whole vocabulary up to 1024 ids, else 64 and the rest). */
  topK?: number;
  /** Measure held-out fidelity every this many steps (default: 10 times a run). */
  evalEvery?: number;
  /** Where the state starts: "prompt" (default: the wkv the prompt leaves) or "zero" (training alone; use lr ≈ 1). */
  start?: "prompt" | "zero";
  /** Sampling temperature of the generated continuations (default 1). */
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Whether the default observer (in a notebook: the fidelity meter) follows the compile; default true. */
  live?: boolean;
}

const OPTIONS: Spec = {
  data: (v) =>
    typeof v === "object" || typeof v === "string" ? undefined : "must be a dataset, texts or a jsonl path",
  heldOut: (v) =>
    typeof v === "object" || typeof v === "string" ? undefined : "must be a dataset, texts or a jsonl path",
  samples: is.int(1),
  heldOutSamples: is.int(1),
  steps: is.int(0),
  ctxLen: is.int(2),
  microBsz: is.int(1),
  lr: is.number(0),
  lrFinal: is.number(0),
  gradClip: is.number(0),
  topK: is.int(1),
  evalEvery: is.int(1),
  temperature: is.number(0),
  start: is.oneOf("prompt", "zero"),
  seed: is.int(0),
  signal: is.signal,
  live: is.boolean,
  onStep: is.function,
  onEnd: is.function,
};

let defaultObserver: ((progress: CompileProgress) => CompileObserver) | undefined;

/** Installs the observer every compile gets unless it passes `live: false` (the display layer's fidelity meter). */
export function setDefaultCompileObserver(factory: ((progress: CompileProgress) => CompileObserver) | undefined): void {
  defaultObserver = factory;
}

/** Continuations generated by the model from `state` (after `logits`), each up to `maxTokens` ids, ending at 0. */
async function sampleContinuations(
  model: Model,
  state: State,
  logits: Float32Array,
  count: number,
  o: { maxTokens: number; temperature: number; seed: number; signal?: AbortSignal },
): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const rand = samplerRandom(o.seed * 100_003 + i);
    const ids: number[] = [];
    let s = state,
      last = logits;
    while (ids.length < o.maxTokens) {
      throwIfAborted(o.signal);
      const id = sampleToken(last, { temperature: o.temperature, topP: 1, topK: 0 }, rand);
      ids.push(id);
      if (id === END_OF_DOC) break;
      const r = await model.forward([id], { state: s, mode: "rnn", logits: "last", signal: o.signal });
      s = r.state;
      last = r.logits!;
    }
    if (ids.length >= 2) out.push(Int32Array.from(ids));
  }
  return out;
}

/** Mean fidelity of `student` over continuations, given the prompted model's logits on each. */
async function fidelityFrom(
  model: Model,
  teacherLogits: (x: Int32Array, i: number) => Promise<Float32Array>,
  student: State,
  continuations: Int32Array[],
  signal?: AbortSignal,
): Promise<Fidelity> {
  let kl = 0,
    top1 = 0,
    n = 0;
  for (let i = 0; i < continuations.length; i++) {
    const x = continuations[i];
    const q = (await model.forward(x, { state: student, logits: "all", signal })).logits!;
    const d = divergence(await teacherLogits(x, i), q, model.config.vocabSize);
    for (let t = 0; t < d.kl.length; t++) {
      kl += d.kl[t];
      top1 += d.top1[t];
    }
    n += d.kl.length;
  }
  return { kl: kl / n, top1: top1 / n, positions: n };
}

/** Mean held-out fidelity of `student` against the prompted model (`teacher`: its state after the prompt). */
export async function fidelityOf(
  model: Model,
  teacher: State,
  student: State,
  continuations: Int32Array[],
  signal?: AbortSignal,
): Promise<Fidelity> {
  const logits = async (x: Int32Array) => (await model.forward(x, { state: teacher, logits: "all", signal })).logits!;
  return fidelityFrom(model, logits, student, continuations, signal);
}

export async function compilePrompt(
  model: Model,
  systemPrompt: string,
  opts: CompileOptions = {},
): Promise<CompiledPrompt> {
  checkOptions("compilePrompt", opts, OPTIONS);
  if (typeof systemPrompt !== "string" || systemPrompt.length === 0)
    throw new OptionsError("compilePrompt needs the system prompt as a non-empty string", "systemPrompt");
  const signal = resolveSignal(opts.signal);
  const V = model.config.vocabSize;
  const steps = opts.steps ?? 100,
    ctxLen = opts.ctxLen ?? 128,
    microBsz = opts.microBsz ?? 4,
    seed = opts.seed ?? 0;
  const topK = Math.min(V, opts.topK ?? (V <= 1024 ? V : 64));
  const temperature = opts.temperature ?? 1;

  const promptIds = model.tokenizer.encode(systemPrompt);
  const teacher = await stateAfterText(model, systemPrompt, { signal });
  const warmState = await stateAfterText(model, systemPrompt, { shifts: "zero", signal });
  const afterPrompt = (await model.forward(promptIds, { logits: "last", signal })).logits!;
  const sample = (count: number, s: number) =>
    sampleContinuations(model, teacher, afterPrompt, count, { maxTokens: ctxLen, temperature, seed: s, signal });

  let train: Int32Array[], held: Int32Array[];
  const heldN = opts.heldOutSamples ?? 16;
  if (opts.data !== undefined) {
    const docs = (await heldOutDocs(model, opts.data, { samples: 1 << 30, ctxLen: ctxLen - 1 })).map((d) => d.slice());
    const cut = opts.heldOut === undefined ? Math.max(1, Math.floor(docs.length / 8)) : 0;
    if (docs.length - cut < 1)
      throw new DataError("compilePrompt: the data has too few documents to train and hold out");
    train = docs.slice(0, docs.length - cut);
    held = docs.slice(docs.length - cut, docs.length - cut + heldN);
  } else train = await sample(opts.samples ?? 64, seed);
  if (opts.heldOut !== undefined)
    held = (await heldOutDocs(model, opts.heldOut, { samples: heldN, ctxLen: ctxLen - 1 })).map((d) => d.slice());
  else held ??= await sample(heldN, seed + 7919);
  if (train.length === 0 || held.length === 0)
    throw new DataError("compilePrompt: no continuation of two tokens or more");

  // Teacher targets of every training continuation, made once.
  const targets: TeacherTargets[] = [];
  for (const x of train) {
    const logits = (await model.forward(x, { state: teacher, logits: "all", signal })).logits!;
    targets.push(teacherTargets(logits, V, topK));
  }

  // The prompted model's logits on the held-out continuations, kept when they fit in 64 MiB.
  const keep = held.reduce((s, x) => s + x.length, 0) * V * 4 <= 64 * 2 ** 20;
  const kept = new Map<number, Float32Array>();
  const teacherLogits = async (x: Int32Array, i: number): Promise<Float32Array> => {
    const hit = kept.get(i);
    if (hit) return hit;
    const l = (await model.forward(x, { state: teacher, logits: "all", signal })).logits!;
    if (keep) kept.set(i, l);
    return l;
  };
  const measure = (s: State) => fidelityFrom(model, teacherLogits, s, held, signal);
  const zero = await measure(model.newState());
  const warm = await measure(warmState);
  const master = opts.start === "zero" ? new Float32Array(warmState.wkv.length) : warmState.wkv.slice();
  const adam = new Adam(master, { beta1: 0.9, beta2: 0.99, eps: 1e-8 });
  const lr0 = opts.lr ?? 0.01,
    lr1 = opts.lrFinal ?? 0.001;
  const evalEvery = opts.evalEvery ?? Math.max(1, Math.ceil(steps / 10));
  let best = { step: 0, fidelity: opts.start === "zero" ? zero : warm, wkv: master.slice() };
  const progress: CompileProgress = {
    prompt: systemPrompt,
    promptTokens: promptIds.length,
    totalSteps: steps,
    history: [],
    zero,
    warm,
    start: opts.start ?? "prompt",
    best: { step: 0, fidelity: best.fidelity },
  };
  const observers: CompileObserver[] = [opts];
  if (opts.live !== false && defaultObserver) observers.push(defaultObserver(progress));
  const order = seededPermutation(train.length, seed, 0);
  try {
    for (let step = 1; step <= steps && !signal?.aborted; step++) {
      const picks = Array.from({ length: microBsz }, (_, b) => order[((step - 1) * microBsz + b) % train.length]);
      const T = Math.max(...picks.map((i) => train[i].length));
      const inputs = new Int32Array(microBsz * T),
        mask = new Int32Array(microBsz * T).fill(-100);
      const probs = new Float32Array(microBsz * T * topK),
        ids = topK < V ? new Int32Array(microBsz * T * topK).fill(-1) : undefined;
      let entropy = 0,
        rows = 0;
      picks.forEach((i, b) => {
        const x = train[i],
          t = targetRows(targets[i], 0, x.length);
        inputs.set(x, b * T);
        mask.fill(0, b * T, b * T + x.length);
        probs.set(t.probs, b * T * topK);
        ids?.set(t.ids!, b * T * topK);
        for (const h of t.entropy) entropy += h;
        rows += x.length;
      });
      const batch = { inputs, targets: mask, batch: microBsz, T, nTargets: rows };
      let r;
      try {
        r = await model.gradToState(batch, {
          state: new State(model.config, { wkv: master }),
          soft: { k: topK, probs, ids },
          signal,
        });
      } catch (e) {
        if (signal?.aborted) break;
        throw e;
      }
      const lr = learningRate(step - 1, { kind: "cos", lrInit: lr0, lrFinal: lr1, totalSteps: steps, warmupSteps: 0 });
      const gradNorm = clipGradNorm(r.grad, opts.gradClip ?? 1);
      adam.step(r.grad, lr);
      const rec: CompileRecord = { step, kl: Math.max(0, r.loss - entropy / rows), lr, gradNorm };
      if (step % evalEvery === 0 || step === steps) {
        rec.heldOut = await measure(new State(model.config, { wkv: master }));
        if (rec.heldOut.kl < best.fidelity.kl) best = { step, fidelity: rec.heldOut, wkv: master.slice() };
        progress.best = { step: best.step, fidelity: best.fidelity };
      }
      progress.history.push(rec);
      for (const o of observers) o.onStep?.(rec, progress);
    }
  } finally {
    for (const o of observers) o.onEnd?.(progress);
  }
  return new CompiledPrompt(progress, model, new State(model.config, { wkv: best.wkv }), warmState, {
    train: train.length,
    heldOut: held.length,
  });
}

// The tutorial's defaults ("rwkv-notebook/tutorial"). With RWKV_MODEL set, the notebooks run on that
// model; without it they use the small byte-level RWKV-7 the project ships (Model.demo(): assets/demo,
// made by scripts/demo/*.py), which knows two voices: a plain assistant and, after a "System: You
// are a pirate." line, a pirate. The tuning data is pirate answers without that line, so a tuned
// state has to carry the persona on its own. tutorialPlan picks the tuning settings from the model
// and the data, so that notebook 3 fits the machine it runs on.
import * as fs from "node:fs";
import * as path from "node:path";
import { openCheckpoint } from "./runtime/checkpoint";
import type { Padding, SamplerKind } from "./runtime/data/samplers";
import type { TokenDataset } from "./runtime/data/dataset";
import { CheckpointError } from "./runtime/errors";
import { detectConfig, type ModelConfig } from "./runtime/model/config";
import { DEMO_FILES } from "./runtime/model/demo";
import type { Device, Model } from "./runtime/model/model";
import { runtimeInfo } from "./runtime/native";
import { modelTokenizerKind, resolveVocab, type TokenizerKind } from "./runtime/tokenizer";

export interface TutorialSetup {
  modelPath: string;
  /** The model's tokenizer: bytes for a byte-level model, else World. */
  tokenizer: TokenizerKind;
  /** World models: the vocab file, found as everywhere else ($RWKV_VOCAB, then beside the model). */
  vocab?: string;
  /** jsonl with a `text` field per line: the state-tuning data. */
  dataPath: string;
  /** Held-out lines of the same kind, for evaluation. */
  evalPath: string;
  /** Chat jsonl (`messages` lines, answers in the tuning data's style) for notebook 06, and its held-out set. */
  chatPath: string;
  chatEvalPath: string;
  /** The embedded default model is in use. */
  isDemo: boolean;
  /** Chat prompts for generation (User/Assistant format). */
  prompts: string[];
}

const PROMPTS = [
  "what is 2 plus 5?",
  "what color is the sky?",
  "what does a cat say?",
  "hello!",
  "what is 11 plus 3?",
  "what does a cow say?",
  "what color is the grass?",
  "what is 7 plus 9?",
  "good morning!",
  "what color is the rose?",
].map((q) => `User: ${q}\n\nAssistant:`);

/**
 * The model, data and prompts the notebooks use. A World model's vocab is looked up here, so a
 * missing vocab shows up in the first notebook, with every place that was searched.
 */
export function tutorialSetup(env: NodeJS.ProcessEnv = process.env): TutorialSetup {
  const data = env.RWKV_DATA ? path.resolve(env.RWKV_DATA) : DEMO_FILES.data;
  const evalPath = env.RWKV_EVAL_DATA ? path.resolve(env.RWKV_EVAL_DATA) : DEMO_FILES.evalData;
  const chatPath = env.RWKV_CHAT_DATA ? path.resolve(env.RWKV_CHAT_DATA) : DEMO_FILES.chatData;
  const chatEvalPath = env.RWKV_CHAT_EVAL_DATA ? path.resolve(env.RWKV_CHAT_EVAL_DATA) : DEMO_FILES.chatEvalData;
  const common = { dataPath: data, evalPath, chatPath, chatEvalPath, prompts: PROMPTS };
  if (!env.RWKV_MODEL) return { ...common, modelPath: DEMO_FILES.model, tokenizer: "bytes", isDemo: true };
  if (!fs.existsSync(env.RWKV_MODEL)) throw new CheckpointError("no such file (from RWKV_MODEL)", env.RWKV_MODEL);
  const modelPath = path.resolve(env.RWKV_MODEL);
  const tokenizer = modelTokenizerKind(modelPath);
  const vocab = tokenizer === "world" ? resolveVocab({ modelPath }, env) : undefined;
  return { ...common, modelPath, tokenizer, vocab, isDemo: false };
}

/** Does a reply speak like the tuning data's pirate? */
export function showsPirateStyle(reply: string): boolean {
  return /\b(arr|matey|ahoy|be sayin')\b/i.test(reply);
}

/** One chosen setting, its value and the reason, as the notebooks show them (a type: a table row). */
export type PlanRow = {
  setting: string;
  value: string;
  why: string;
};

/** The tuning settings of notebook 3, chosen from the model and the data (see tutorialPlan). */
export interface TutorialPlan {
  ctxLen: number;
  microBsz: number;
  totalSteps: number;
  sampler: SamplerKind;
  padding: Padding;
  seed: number;
  /** Held-out samples evaluated before and after tuning (each run from the tuned and the zero state). */
  evalSamples: number;
  /** How much lower the tuned held-out loss must be (0.2 = 20%); 0: only that it is lower. */
  requiredDrop: number;
  /** Estimated seconds of the tuning steps and of the two evaluations, from the model's size and the backend. */
  estimate: { tuningSeconds: number; evaluationSeconds: number; flopsPerSecond: number };
  reasons: PlanRow[];
}

export interface PlanOptions {
  /** Seconds the tuning steps may take (default 90: notebook 3 then stays within about 3 minutes). */
  budgetSeconds?: number;
  /** The backend's throughput in FLOP/s (default: an estimate from the device and the CPU threads). */
  flopsPerSecond?: number;
}

/** The schedule the demo model is tested with; enough steps for a voice without overfitting. */
const MAX_STEPS = 60;
/** Below this the loss curve says little: the plan takes smaller micro-batches first. */
const MIN_STEPS = 20;
const MAX_CTX = 512;
const EVAL_SAMPLES = 16;
/**
 * Conservative throughput of the state-tuning step per CPU thread (bf16 weights, f32 compute),
 * measured on the Zen 5 development machine at about 40-55 GFLOP/s per core; a GPU gets 10 TFLOP/s.
 */
const CPU_FLOPS_PER_THREAD = 40e9;
const GPU_FLOPS = 10e12;

/**
 * Chooses ctx length, sampler, micro-batch and steps for notebook 3 from the model's size and the
 * data's document lengths, so that the tuning steps fit `budgetSeconds` on this machine:
 * - many short documents (chat turns, answers) → the pad sampler, one document per sample, each run
 *   from the tuned state; ctx_len covers the longest document (multiple of 32, at most 512), and
 *   padding "trim" runs each batch only up to its last counted target;
 * - long documents → random windows of ctx_len tokens, the largest of 512…64 that fits;
 * - steps: 60 when they fit the budget, else fewer (at least 20), with smaller micro-batches first.
 * `model` is a loaded Model or a checkpoint path (its dims are read without loading weights).
 */
export function tutorialPlan(model: Model | string, data: TokenDataset, opts: PlanOptions = {}): TutorialPlan {
  const { config, device, file } =
    typeof model === "string" ? describeFile(model) : { config: model.config, device: model.device, file: model.path };
  const threads = runtimeInfo().threads;
  const flopsPerSecond = opts.flopsPerSecond ?? (device === "cuda" ? GPU_FLOPS : threads * CPU_FLOPS_PER_THREAD);
  const budget = opts.budgetSeconds ?? 90;
  // Every product but the embedding lookup, forward (2 FLOP per weight) and backward to the state (2 more).
  const matmulParams = config.params - config.vocabSize * config.nEmbd;
  const flopsPerPosition = 4 * matmulParams;
  const secondsPer = (positions: number) => (positions * flopsPerPosition) / flopsPerSecond;

  const sizes = Array.from({ length: data.docCount }, (_, i) => data.docSize(i)).sort((a, b) => a - b);
  const median = sizes[Math.floor(sizes.length / 2)] ?? 0,
    longest = sizes[sizes.length - 1] ?? 0;
  const fmt = (s: number) => (s < 10 ? s.toFixed(1) : s.toFixed(0));
  const flop = (f: number) => (f >= 1e9 ? `${fmt(f / 1e9)} GFLOP` : `${fmt(f / 1e6)} MFLOP`);
  const n = (x: number) => x.toLocaleString("en-US");

  const usePad = median <= MAX_CTX && data.docCount >= 8 * 4;
  let ctxLen: number,
    microBsz = 4,
    perStep: (k: number) => number;
  if (usePad) {
    ctxLen = Math.min(MAX_CTX, Math.max(32, Math.ceil((longest - 1) / 32) * 32));
    perStep = (k) => k * expectedMax(sizes, k, ctxLen);
  } else {
    const fits = (c: number) => secondsPer(4 * c) * MIN_STEPS <= budget;
    ctxLen = [512, 256, 128, 64].find(fits) ?? 64;
    ctxLen = Math.min(ctxLen, data.tokenCount - 2);
    perStep = (k) => k * ctxLen;
  }
  const stepsFitting = (k: number) => Math.floor(budget / secondsPer(perStep(k)));
  while (microBsz > 1 && stepsFitting(microBsz) < MIN_STEPS) microBsz /= 2;
  const totalSteps = Math.max(MIN_STEPS, Math.min(MAX_STEPS, stepsFitting(microBsz)));
  const tuningSeconds = secondsPer(perStep(microBsz)) * totalSteps;
  // Forward only (half the FLOPs) of ctx_len tokens per sample, three passes: the zero state before
  // tuning (the tuned state is still zero), tuned and zero after. A third of the budget at most.
  const evalPass = (samples: number) => secondsPer(samples * ctxLen) * 0.5 * 3;
  const evalSamples = Math.max(4, Math.min(EVAL_SAMPLES, Math.floor(budget / 3 / evalPass(1))));
  const evaluationSeconds = evalPass(evalSamples);
  const isDemo = path.resolve(file) === path.resolve(DEMO_FILES.model);
  const requiredDrop = isDemo ? 0.2 : 0;
  const cut = sizes.filter((s) => s - 1 > ctxLen).length;

  const where = device === "cuda" ? "a CUDA GPU" : `${threads} CPU thread${threads === 1 ? "" : "s"}`;
  const reasons: PlanRow[] = [
    {
      setting: "model",
      value: `${n(config.params)} parameters (L${config.nLayer} C${config.nEmbd} V${n(config.vocabSize)})`,
      why: `one position forward + backward ≈ ${flop(flopsPerPosition)}; on ${where} ≈ ${flop(flopsPerSecond)}/s`,
    },
    {
      setting: "data",
      value: `${n(data.docCount)} documents, ${n(data.tokenCount)} tokens`,
      why: `document length: median ${median}, longest ${longest} tokens`,
    },
    usePad
      ? {
          setting: "sampler",
          value: "pad",
          why: "many short documents: one document per sample, each run from the tuned state (PEFT --dataload pad)",
        }
      : {
          setting: "sampler",
          value: "random",
          why: "long documents: random windows of ctx_len tokens from the token stream",
        },
    {
      setting: "ctxLen",
      value: String(ctxLen),
      why: usePad
        ? cut === 0
          ? `covers the longest document (${longest} tokens, with its end token)`
          : `${cut} of ${data.docCount} documents are longer and are cut (the cap is ${MAX_CTX})`
        : `the longest window whose ${MIN_STEPS} steps fit the budget`,
    },
    {
      setting: "padding",
      value: "trim",
      why: usePad
        ? `a batch runs only up to its last counted target: ≈ ${fmt(perStep(microBsz) / microBsz)} of ` +
          `${ctxLen} positions per sample`
        : "windows are full: nothing to trim",
    },
    {
      setting: "microBsz",
      value: String(microBsz),
      why:
        microBsz === 4
          ? "4 samples per step smooth the gradient"
          : `smaller than 4 so that at least ${MIN_STEPS} steps fit the budget`,
    },
    {
      setting: "totalSteps",
      value: String(totalSteps),
      why:
        totalSteps === MAX_STEPS
          ? `${MAX_STEPS} steps (the tested schedule) fit the ${budget} s budget: ≈ ${fmt(tuningSeconds)} s`
          : `as many as fit the ${budget} s budget (≈ ${fmt(tuningSeconds)} s), at least ${MIN_STEPS}`,
    },
    {
      setting: "evaluation",
      value: `${evalSamples} held-out samples`,
      why:
        `before and after tuning, ${ctxLen} tokens each: ≈ ${fmt(evaluationSeconds)} s` +
        (evalSamples < EVAL_SAMPLES ? ` (fewer than ${EVAL_SAMPLES}: a third of the budget at most)` : ""),
    },
    {
      setting: "required drop",
      value: requiredDrop > 0 ? `${100 * requiredDrop}%` : "any",
      why: isDemo
        ? "the demo model knows the pirate voice: a working tuning removes most of its surprise"
        : "how far a state moves an unknown model depends on the model and the data: the loss must only go down",
    },
  ];
  return {
    ctxLen,
    microBsz,
    totalSteps,
    sampler: usePad ? "pad" : "random",
    padding: "trim",
    seed: 1,
    evalSamples,
    requiredDrop,
    estimate: { tuningSeconds, evaluationSeconds, flopsPerSecond },
    reasons,
  };
}

/** Dims and device of a checkpoint, read from its tensor shapes without loading weights. */
function describeFile(file: string): { config: ModelConfig; device: Device; file: string } {
  const ckpt = openCheckpoint(file);
  try {
    return { config: detectConfig(ckpt), device: runtimeInfo().cuda.available ? "cuda" : "cpu", file };
  } finally {
    ckpt.close();
  }
}

/**
 * E[min(cap, max of k documents' counted targets)] over documents drawn from `sizes` (sorted):
 * the positions a trimmed pad-sampler sample runs, on average, in a batch of k.
 */
function expectedMax(sizes: number[], k: number, cap: number): number {
  const m = sizes.length;
  let e = 0;
  for (let j = 0; j < m; j++) {
    const targets = Math.max(1, Math.min(sizes[j], cap + 1) - 1);
    e += targets * (((j + 1) / m) ** k - (j / m) ** k);
  }
  return e;
}

// The tutorial's defaults ("rwkv-notebook/tutorial"). With RWKV_MODEL set, the notebooks run on that
// model; without it they use the small byte-level RWKV-7 the project ships (assets/demo, made by
// scripts/demo/*.py), which knows two voices: a plain assistant and, after a "System: You are a
// pirate." line, a pirate. The tuning data is pirate answers without that line, so a tuned state
// has to carry the persona on its own.
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointError } from "./runtime/errors";
import { modelTokenizerKind, resolveVocab, type TokenizerKind } from "./runtime/tokenizer";

const DEMO_DIR = path.resolve(__dirname, "..", "..", "assets", "demo");

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
  ctxLen: number;
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
  const data = env.RWKV_DATA ? path.resolve(env.RWKV_DATA) : path.join(DEMO_DIR, "pirate.jsonl");
  const evalPath = env.RWKV_EVAL_DATA ? path.resolve(env.RWKV_EVAL_DATA) : path.join(DEMO_DIR, "pirate-eval.jsonl");
  const chatPath = env.RWKV_CHAT_DATA ? path.resolve(env.RWKV_CHAT_DATA) : path.join(DEMO_DIR, "pirate-chat.jsonl");
  const chatEvalPath = env.RWKV_CHAT_EVAL_DATA
    ? path.resolve(env.RWKV_CHAT_EVAL_DATA)
    : path.join(DEMO_DIR, "pirate-chat-eval.jsonl");
  const common = { dataPath: data, evalPath, chatPath, chatEvalPath, prompts: PROMPTS };
  if (!env.RWKV_MODEL)
    return {
      ...common,
      modelPath: path.join(DEMO_DIR, "demo-model.pth"),
      tokenizer: "bytes",
      isDemo: true,
      ctxLen: 128,
    };
  if (!fs.existsSync(env.RWKV_MODEL)) throw new CheckpointError("no such file (from RWKV_MODEL)", env.RWKV_MODEL);
  const modelPath = path.resolve(env.RWKV_MODEL);
  const tokenizer = modelTokenizerKind(modelPath);
  const vocab = tokenizer === "world" ? resolveVocab({ modelPath }, env) : undefined;
  return { ...common, modelPath, tokenizer, vocab, isDemo: false, ctxLen: 512 };
}

/** Does a reply speak like the tuning data's pirate? */
export function showsPirateStyle(reply: string): boolean {
  return /\b(arr|matey|ahoy|be sayin')\b/i.test(reply);
}

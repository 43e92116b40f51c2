// The tutorial's defaults. With RWKV_MODEL set, the notebooks run on that model (World tokenizer,
// vocab from RWKV_VOCAB or beside the model). Without it they use the small byte-level RWKV-7 the
// project ships (assets/demo, made by scripts/demo/*.py), which knows two voices: a plain
// assistant and, after a "System: You are a pirate." line, a pirate. The tuning data is pirate
// answers without that line, so a tuned state has to carry the persona on its own.
import * as fs from "node:fs";
import * as path from "node:path";

const DEMO_DIR = path.resolve(__dirname, "..", "..", "assets", "demo");

export interface TutorialSetup {
  modelPath: string;
  tokenizer: "world" | "bytes";
  /** jsonl with a `text` field per line: the state-tuning data. */
  dataPath: string;
  /** Held-out lines of the same kind, for evaluation. */
  evalPath: string;
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

export function tutorialSetup(env: NodeJS.ProcessEnv = process.env): TutorialSetup {
  const data = env.RWKV_DATA ? path.resolve(env.RWKV_DATA) : path.join(DEMO_DIR, "pirate.jsonl");
  const evalPath = env.RWKV_EVAL_DATA ? path.resolve(env.RWKV_EVAL_DATA) : path.join(DEMO_DIR, "pirate-eval.jsonl");
  if (env.RWKV_MODEL) {
    if (!fs.existsSync(env.RWKV_MODEL)) throw new Error(`RWKV_MODEL=${env.RWKV_MODEL}: no such file`);
    return {
      modelPath: path.resolve(env.RWKV_MODEL),
      tokenizer: "world",
      dataPath: data,
      evalPath,
      isDemo: false,
      prompts: PROMPTS,
      ctxLen: 512,
    };
  }
  return {
    modelPath: path.join(DEMO_DIR, "demo-model.pth"),
    tokenizer: "bytes",
    dataPath: data,
    evalPath,
    isDemo: true,
    prompts: PROMPTS,
    ctxLen: 128,
  };
}

/** Does a reply speak like the tuning data's pirate? */
export function showsPirateStyle(reply: string): boolean {
  return /\b(arr|matey|ahoy|be sayin')\b/i.test(reply);
}

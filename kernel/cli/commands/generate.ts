// `rwkv-nb generate`: streams a completion of --prompt to stdout.
import {
  defineCommand,
  numberArg,
  tokenizerArgs,
  TOKENIZER_OPTIONS,
  MODEL_OPTIONS,
  MODEL_USAGE,
  modelArgs,
} from "../command";
import { Model } from "../../runtime/model/model";
import { State } from "../../runtime/model/state";

const usage = `usage: rwkv-nb generate <model> --prompt <text> [--state <file>] [--max-tokens 200] [--temperature 1]
                        [--top-p 0.85] [--top-k 0] [--seed S] [--stop <text>]... [--vocab <file>]
                        [--tokenizer world|bytes]
                        ${MODEL_USAGE}`;

export const command = defineCommand({
  name: "generate",
  summary: "generate text from a prompt (optionally with a state file)",
  usage,
  options: {
    ...TOKENIZER_OPTIONS,
    prompt: { type: "string" },
    state: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-p": { type: "string" },
    "top-k": { type: "string" },
    seed: { type: "string" },
    stop: { type: "string", multiple: true },
    ...MODEL_OPTIONS,
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1 || values.prompt === undefined) {
      console.error(usage);
      return 2;
    }
    const { kind, vocab } = tokenizerArgs(values);
    const model = await Model.load(positionals[0], {
      ...modelArgs(values),
      tokenizer: kind,
      vocab,
    });
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once("SIGINT", onSigint);
    try {
      const state = values.state ? await State.fromStateFile(model, values.state) : undefined;
      const it = model.generate(values.prompt, {
        state,
        maxTokens: numberArg("--max-tokens", values["max-tokens"], { integer: true, min: 0 }),
        temperature: numberArg("--temperature", values.temperature),
        topP: numberArg("--top-p", values["top-p"]),
        topK: numberArg("--top-k", values["top-k"], { integer: true, min: 0 }),
        seed: numberArg("--seed", values.seed, { integer: true }),
        stop: values.stop,
        signal: ac.signal,
      });
      try {
        for await (const piece of it) process.stdout.write(piece);
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
      process.stdout.write("\n");
    } finally {
      process.off("SIGINT", onSigint);
      model.dispose();
    }
    return 0;
  },
});

// `rwkv-nb generate`: streams a completion of --prompt to stdout.
import { parseArgs } from "node:util";
import type { Command } from "../main";
import { Model, type Device } from "../../runtime/model/model";
import { State } from "../../runtime/model/state";

const usage = `usage: rwkv-nb generate <model> --prompt <text> [--state <file>] [--max-tokens 200] [--temperature 1]
                       [--top-p 0.85] [--top-k 0] [--seed S] [--stop <text>]... [--vocab <file>] [--tokenizer world|bytes]
                       [--device cpu|cuda|auto]`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}

export const command: Command = {
  name: "generate",
  summary: "generate text from a prompt (optionally with a state file)",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        prompt: { type: "string" },
        state: { type: "string" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-p": { type: "string" },
        "top-k": { type: "string" },
        seed: { type: "string" },
        stop: { type: "string", multiple: true },
        vocab: { type: "string" },
        tokenizer: { type: "string" },
        device: { type: "string", default: "auto" },
      },
    });
    if (positionals.length !== 1 || values.prompt === undefined) {
      console.error(usage);
      return 2;
    }
    const model = await Model.load(positionals[0], {
      device: values.device as Device | "auto",
      vocab: values.vocab,
      tokenizer: values.tokenizer as "world" | "bytes" | undefined,
    });
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once("SIGINT", onSigint);
    try {
      const state = values.state ? await State.fromStateFile(model, values.state) : undefined;
      const it = model.generate(values.prompt, {
        state,
        maxTokens: num("max-tokens", values["max-tokens"]),
        temperature: num("temperature", values.temperature),
        topP: num("top-p", values["top-p"]),
        topK: num("top-k", values["top-k"]),
        seed: num("seed", values.seed),
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
};

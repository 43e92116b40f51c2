// What an `rwkv-nb` command is, and the argument handling every command shares: parsing (unknown
// options refused), numbers, text input and the tokenizer options.
import * as fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { TokenizerKind, TokenizerOptions } from "../runtime/tokenizer";
import type { Compute, Device } from "../runtime/model/model";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. Throwing prints `rwkv-nb: <message>` and exits 1. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>;

/** A command whose arguments are parsed against `options` before `run` sees them. */
export function defineCommand<const O extends Options>(spec: {
  name: string;
  summary: string;
  usage: string;
  options: O;
  run(args: Parsed<O>): Promise<number>;
}): Command {
  const { name, summary, usage, options } = spec;
  return {
    name,
    summary,
    usage,
    run: (argv) => spec.run(parseArgs({ args: argv, options, allowPositionals: true })),
  };
}

/** `--name <number>`: undefined when absent; an integer ≥ min when `integer` is set. */
export function numberArg(
  name: string,
  v: string | undefined,
  opts: { integer?: boolean; min?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const what = opts.integer ? "an integer" : "a number";
  const ok = v.trim() !== "" && (opts.integer ? Number.isInteger(n) : Number.isFinite(n));
  if (!ok || (opts.min !== undefined && n < opts.min))
    throw new Error(`${name} must be ${what}${opts.min !== undefined ? ` ≥ ${opts.min}` : ""}, got '${v}'`);
  return n;
}

/** The text of --file, else of the positional words joined by spaces, else of stdin. */
export function textInput(file: string | undefined, positionals: string[]): string {
  if (file !== undefined) return fs.readFileSync(file, "utf8");
  return positionals.length > 0 ? positionals.join(" ") : fs.readFileSync(0, "utf8");
}

/** The options that choose a tokenizer: its kind and where the World vocab is (see resolveVocab). */
export const TOKENIZER_OPTIONS = {
  tokenizer: { type: "string" },
  vocab: { type: "string" },
} as const;

export function tokenizerArgs(v: { tokenizer?: string; vocab?: string }, modelPath?: string): TokenizerOptions {
  const kind = v.tokenizer as TokenizerKind | undefined;
  if (kind !== undefined && kind !== "world" && kind !== "bytes")
    throw new Error(`--tokenizer must be world or bytes, got '${kind as string}'`);
  return { kind, vocab: v.vocab, modelPath };
}

/** The options of every command that loads a model: where it runs and the arithmetic of its products. */
export const MODEL_OPTIONS = {
  device: { type: "string", default: "cpu" },
  compute: { type: "string" },
} as const;
export const MODEL_USAGE = "[--device cpu|cuda|auto] [--compute fp32|bf16]";

/** Model.load's device and compute from --device/--compute (compute: the device's default when absent). */
export function modelArgs(v: { device?: string; compute?: string }): { device: Device | "auto"; compute?: Compute } {
  const { device = "cpu", compute } = v;
  if (device !== "cpu" && device !== "cuda" && device !== "auto")
    throw new Error(`--device must be cpu, cuda or auto, got '${device}'`);
  if (compute !== undefined && compute !== "fp32" && compute !== "bf16")
    throw new Error(`--compute must be fp32 or bf16, got '${compute}'`);
  return { device, compute };
}

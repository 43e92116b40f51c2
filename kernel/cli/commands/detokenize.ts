// `rwkv-nb detokenize`: token ids → text (ids separated by spaces/commas, or a JSON array).
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import type { Command } from "../main";
import { loadTokenizer, type TokenizerKind } from "../../runtime/tokenizer";

const usage = `usage: rwkv-nb detokenize [<id>...] [--file <f>] [--vocab <file>] [--model <m.pth>] [--tokenizer world|bytes]

Prints the text of the token ids given as arguments, in --file, or on stdin
(separated by spaces or commas; a JSON array works too). Id 0 (end of document) prints nothing.`;

export function parseIds(text: string): number[] {
  const parts = text
    .replace(/[[\]]/g, " ")
    .split(/[\s,]+/)
    .filter((s) => s !== "");
  return parts.map((s, i) => {
    const id = Number(s);
    if (!Number.isInteger(id) || id < 0) throw new Error(`token ${i + 1} is not a token id: ${JSON.stringify(s)}`);
    return id;
  });
}

export const command: Command = {
  name: "detokenize",
  summary: "token ids → text",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        file: { type: "string" },
        vocab: { type: "string" },
        model: { type: "string" },
        tokenizer: { type: "string", default: "world" },
      },
    });
    const src =
      values.file !== undefined
        ? fs.readFileSync(values.file, "utf8")
        : positionals.length > 0
          ? positionals.join(" ")
          : fs.readFileSync(0, "utf8");
    const tok = loadTokenizer({
      kind: values.tokenizer as TokenizerKind,
      vocab: values.vocab,
      modelPath: values.model,
    });
    process.stdout.write(tok.decode(parseIds(src)));
    if (process.stdout.isTTY) process.stdout.write("\n");
    return 0;
  },
};

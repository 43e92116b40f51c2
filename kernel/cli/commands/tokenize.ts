// `rwkv-nb tokenize`: text → token ids (World by default), for checking prompts and data.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import type { Command } from "../main";
import { loadTokenizer, type TokenizerKind } from "../../runtime/tokenizer";

const usage = `usage: rwkv-nb tokenize [<text>...] [--file <f>] [--vocab <file>] [--model <m.pth>] [--tokenizer world|bytes] [--json]

Prints the token ids of <text> (words joined by spaces), of --file, or of stdin.
The World vocab comes from --vocab, $RWKV_VOCAB, or beside --model.`;

export const command: Command = {
  name: "tokenize",
  summary: "text → token ids",
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
        json: { type: "boolean", default: false },
      },
    });
    const text =
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
    const ids = Array.from(tok.encode(text));
    console.log(values.json ? JSON.stringify(ids) : ids.join(" "));
    return 0;
  },
};

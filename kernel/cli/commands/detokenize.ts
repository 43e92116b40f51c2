// `rwkv-nb detokenize`: token ids → text (ids separated by spaces/commas, or a JSON array).
import { defineCommand, textInput, tokenizerArgs, TOKENIZER_OPTIONS } from "../command";
import { loadTokenizer } from "../../runtime/tokenizer";

const usage = `usage: rwkv-nb detokenize [<id>...] [--file <f>] [--model <m.pth>] [--vocab <file>]
                          [--tokenizer world|bytes]

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

export const command = defineCommand({
  name: "detokenize",
  summary: "token ids → text",
  usage,
  options: { ...TOKENIZER_OPTIONS, file: { type: "string" }, model: { type: "string" } },
  async run({ values, positionals }) {
    const tok = loadTokenizer(tokenizerArgs(values, values.model));
    process.stdout.write(tok.decode(parseIds(textInput(values.file, positionals))));
    if (process.stdout.isTTY) process.stdout.write("\n");
    return 0;
  },
});

// `rwkv-nb tokenize`: text → token ids (World by default), for checking prompts and data.
import { defineCommand, textInput, tokenizerArgs, TOKENIZER_OPTIONS } from "../command";
import { loadTokenizer } from "../../runtime/tokenizer";

const usage = `usage: rwkv-nb tokenize [<text>...] [--file <f>] [--model <m.pth>] [--vocab <file>]
                        [--tokenizer world|bytes] [--json]

Prints the token ids of <text> (words joined by spaces), of --file, or of stdin.
The World vocab comes from --vocab, $RWKV_VOCAB, or beside --model.`;

export const command = defineCommand({
  name: "tokenize",
  summary: "text → token ids",
  usage,
  options: { ...TOKENIZER_OPTIONS, file: { type: "string" }, model: { type: "string" }, json: { type: "boolean" } },
  async run({ values, positionals }) {
    const tok = loadTokenizer(tokenizerArgs(values, values.model));
    const ids = Array.from(tok.encode(textInput(values.file, positionals)));
    console.log(values.json ? JSON.stringify(ids) : ids.join(" "));
    return 0;
  },
});

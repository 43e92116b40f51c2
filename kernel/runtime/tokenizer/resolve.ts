// Where the World vocab comes from, the same way for every caller (CLI, Model.load, loadTokenizer,
// makeData, the tutorial): an explicit path, then $RWKV_VOCAB, then the standard file name beside
// the model. No download: the kernel may run offline, so the error lists every place it looked
// and says where to get the file.
import * as fs from "node:fs";
import * as path from "node:path";
import { VocabError } from "./vocab-file";

export const VOCAB_FILE_NAME = "rwkv_vocab_v20230424.txt";
export const VOCAB_SOURCE = "https://raw.githubusercontent.com/BlinkDL/RWKV-LM/main/RWKV-v7/rwkv_vocab_v20230424.txt";
export const VOCAB_SHA256 = "e6dee3d4e31b4d5c40ac99508ac6c701ceef4bed681bf2167ce9a908552bca89";

export interface VocabQuery {
  vocab?: string;
  modelPath?: string;
}

export function resolveVocab(q: VocabQuery = {}, env: NodeJS.ProcessEnv = process.env): string {
  if (q.vocab) {
    if (!fs.existsSync(q.vocab))
      throw new VocabError(`vocab file ${q.vocab} does not exist`, { file: q.vocab, searched: [q.vocab] });
    return path.resolve(q.vocab);
  }
  const tried: string[] = [];
  const fromEnv = env.RWKV_VOCAB;
  if (fromEnv) {
    if (fs.existsSync(fromEnv)) return path.resolve(fromEnv);
    tried.push(`RWKV_VOCAB=${fromEnv} (missing)`);
  } else tried.push("RWKV_VOCAB (not set)");
  if (q.modelPath) {
    const beside = path.join(path.dirname(path.resolve(q.modelPath)), VOCAB_FILE_NAME);
    if (fs.existsSync(beside)) return beside;
    tried.push(`${beside} (beside the model)`);
  } else tried.push("beside the model (no model path given)");
  throw new VocabError(
    `the RWKV World vocab ${VOCAB_FILE_NAME} was not found (looked at: ${tried.join("; ")}). ` +
      `Download it from ${VOCAB_SOURCE} (sha256 ${VOCAB_SHA256}; also shipped in the pip package \`rwkv\`), ` +
      `then pass --vocab <file> (or { vocab } in code), set RWKV_VOCAB, or put it beside the model.`,
    { searched: tried },
  );
}

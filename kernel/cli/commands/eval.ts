// `rwkv-nb eval`: loss/perplexity of a token sequence, optionally from a state file, with the raw
// logits, the final state and the gradient of the loss w.r.t. the initial wkv state as files.
import * as fs from "node:fs";
import { defineCommand, MODEL_OPTIONS, MODEL_USAGE, modelArgs } from "../command";
import { Model, meanCrossEntropy } from "../../runtime/model/model";
import { State } from "../../runtime/model/state";
import { timeStateTensors, writeTensors } from "../../runtime/tune/state-file";
import { timeStateKey } from "../../runtime/model/config";
import { Tensor } from "../../runtime/tensor";
import { checkWritableFolder, writeFileAtomic } from "../../runtime/files";

const usage = `usage: rwkv-nb eval <model> --tokens <ids.json> [--state <file>] [--logits out.f32]
                    [--final-state out.safetensors] [--grad out.safetensors] [--mode seq|rnn]
                    ${MODEL_USAGE}

Prints {"loss","ppl","tokens"}: mean next-token cross entropy over positions 0..T-2 of the
token ids in the JSON array file. --logits writes raw little-endian float32 [T,V]; --final-state
writes blocks.{l}.att.x_prev [C], blocks.{l}.att.time_state [H,N,N], blocks.{l}.ffn.x_prev [C]
(f32); --grad writes d loss / d initial wkv as blocks.{l}.att.time_state (f32).`;

function readTokens(file: string): Int32Array {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(v) || v.length < 2) throw new Error(`${file}: expected a JSON array of at least 2 token ids`);
  const bad = v.findIndex((x) => !Number.isInteger(x));
  if (bad >= 0) throw new Error(`${file}: element ${bad} (${JSON.stringify(v[bad])}) is not an integer token id`);
  return Int32Array.from(v as number[]);
}

function finalStateTensors(s: State): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (let l = 0; l < s.nLayer; l++) {
    const v = s.layer(l);
    out[`blocks.${l}.att.x_prev`] = Tensor.fromFloat32(v.attX, [s.nEmbd]);
    out[timeStateKey(l)] = Tensor.fromFloat32(v.wkv, [s.nHead, s.headSize, s.headSize]);
    out[`blocks.${l}.ffn.x_prev`] = Tensor.fromFloat32(v.ffnX, [s.nEmbd]);
  }
  return out;
}

export const command = defineCommand({
  name: "eval",
  summary: "loss / perplexity of token ids (logits, final state, state gradient)",
  usage,
  options: {
    tokens: { type: "string" },
    state: { type: "string" },
    logits: { type: "string" },
    "final-state": { type: "string" },
    grad: { type: "string" },
    mode: { type: "string", default: "seq" },
    ...MODEL_OPTIONS,
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1 || !values.tokens) {
      console.error(usage);
      return 2;
    }
    const mode = values.mode;
    if (mode !== "seq" && mode !== "rnn") throw new Error(`--mode must be seq or rnn, got '${mode}'`);
    for (const out of [values.logits, values["final-state"], values.grad]) if (out) checkWritableFolder(out);
    const tokens = readTokens(values.tokens);
    const model = await Model.load(positionals[0], modelArgs(values));
    try {
      const start = values.state ? await State.fromStateFile(model, values.state) : model.defaultState;
      const T = tokens.length;
      const { logits, state } = await model.forward(tokens, { state: start, mode, logits: "all" });
      const loss = meanCrossEntropy(logits!, tokens.subarray(1), model.config.vocabSize);
      if (values.logits) {
        const bytes = new Uint8Array(logits!.buffer, logits!.byteOffset, logits!.byteLength);
        writeFileAtomic(values.logits, (fd) => fs.writeFileSync(fd, bytes));
      }
      if (values["final-state"])
        writeTensors(values["final-state"], finalStateTensors(state), "safetensors", {
          format: "rwkv-notebook final state",
        });
      if (values.grad) {
        const { grad } = await model.gradToState(tokens, { state: start });
        const t = timeStateTensors(model.config, grad, "f32");
        writeTensors(values.grad, t, "safetensors", { format: "rwkv-notebook d loss / d initial wkv" });
      }
      console.log(JSON.stringify({ loss, ppl: Math.exp(loss), tokens: T }));
    } finally {
      model.dispose();
    }
    return 0;
  },
});

// `rwkv-nb info <model>`: what a checkpoint is, read from its tensor shapes (no weights loaded).
import * as fs from "node:fs";
import { defineCommand } from "../command";
import { openCheckpoint } from "../../runtime/checkpoint";
import { detectConfig } from "../../runtime/model/config";

const usage = `usage: rwkv-nb info <model.pth|model.safetensors> [--tensors]

Prints the model's configuration as JSON: version (x070 / x060), n_layer, n_embd, n_head,
head_size, vocab_size, dim_ffn, LoRA widths, dtype, parameter count, has_time_state.
--tensors adds every tensor's name, dtype and shape in file order.`;

export function checkpointInfo(file: string, withTensors = false): Record<string, unknown> {
  const ckpt = openCheckpoint(file);
  try {
    const c = detectConfig(ckpt);
    const info: Record<string, unknown> = {
      file,
      format: ckpt.format,
      bytes: fs.statSync(file).size,
      version: c.version === 7 ? "x070" : "x060",
      n_layer: c.nLayer,
      n_embd: c.nEmbd,
      n_head: c.nHead,
      head_size: c.headSize,
      vocab_size: c.vocabSize,
      dim_ffn: c.dimFfn,
      lora: c.lora,
      dtype: c.dtype,
      params: c.params,
      has_time_state: c.hasTimeState,
    };
    if (withTensors)
      info.tensors = ckpt.keys().map((k) => {
        const e = ckpt.entry(k);
        return { name: k, dtype: e.dtype, shape: e.shape };
      });
    return info;
  } finally {
    ckpt.close();
  }
}

export const command = defineCommand({
  name: "info",
  summary: "a checkpoint's version, sizes, dtype and parameter count (JSON)",
  usage,
  options: { tensors: { type: "boolean", default: false } },
  async run({ values, positionals }) {
    if (positionals.length !== 1) {
      console.error(usage);
      return 2;
    }
    console.log(JSON.stringify(checkpointInfo(positionals[0], values.tensors), null, 2));
    return 0;
  },
});

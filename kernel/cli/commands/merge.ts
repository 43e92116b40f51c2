// `rwkv-nb merge`: base checkpoint + state file → one .pth with blocks.{l}.att.time_state (docs/spec.md §4.2).
import { parseArgs } from "node:util";
import type { Command } from "../main";
import { mergeState } from "../../runtime/tune/merge";

const usage = `usage: rwkv-nb merge <base.pth> <state.pth|.safetensors> --out <merged.pth>

Writes the base model's tensors plus the state's blocks.{l}.att.time_state (as RWKV-PEFT
merge_state.py does), after checking the state's layers and shapes against the model.`;

export const command: Command = {
  name: "merge",
  summary: "merge a tuned state into a base checkpoint",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: "string" } },
    });
    if (positionals.length !== 2 || !values.out) {
      console.error(usage);
      return 2;
    }
    const r = await mergeState(positionals[0], positionals[1], values.out);
    console.log(`wrote ${r.out}: ${r.baseKeys} base tensors + ${r.stateKeys} time_state tensors`);
    return 0;
  },
};

// `rwkv-nb compare`: several state files side by side on one model: held-out loss, replies to the
// same prompts with the same seed, and the distance between the states per layer (compareStates).
import { defineCommand, numberArg } from "../command";
import { Model, type Device } from "../../runtime/model/model";
import { compareStates } from "../../runtime/inspect/compare";
import type { StateSource } from "../../runtime/tune/state-source";

const usage = `usage: rwkv-nb compare <state> <state>... --data <held.jsonl> [--model <base.pth>] [--prompt <text>]...
                       [--baseline] [--samples 64] [--ctx-len 512] [--seed 0] [--max-tokens 80] [--json]
                       [--device cpu|cuda|auto]

States are .pth (RWKV-PEFT) or safetensors state files; each must fit the model (a safetensors
file's provenance must name this model). --model defaults to $RWKV_MODEL. --baseline adds the
model's own state (zero, or a merged checkpoint's) as "baseline". Prints the held-out loss of each
state (mean next-token loss of each document read from the state), the total distance between
every two states, and each state's reply to every --prompt; --json prints all of it as JSON.`;

const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - s.length));

export const command = defineCommand({
  name: "compare",
  summary: "compare state files: held-out loss, replies, distances",
  usage,
  options: {
    model: { type: "string" },
    data: { type: "string" },
    prompt: { type: "string", multiple: true },
    baseline: { type: "boolean" },
    samples: { type: "string" },
    "ctx-len": { type: "string" },
    seed: { type: "string" },
    "max-tokens": { type: "string" },
    json: { type: "boolean" },
    device: { type: "string", default: "cpu" },
  },
  async run({ values, positionals }) {
    const modelPath = values.model ?? process.env.RWKV_MODEL;
    if (positionals.length < 1 || (!values.data && !values.prompt) || !modelPath) {
      console.error(modelPath ? usage : `rwkv-nb compare: give --model (or set RWKV_MODEL)\n\n${usage}`);
      return 2;
    }
    const model = await Model.load(modelPath, { device: values.device as Device | "auto" });
    try {
      const states: Record<string, StateSource> = {};
      if (values.baseline) states.baseline = model.defaultState;
      for (const f of positionals) states[f] = f;
      const c = await compareStates(model, states, {
        data: values.data,
        prompts: values.prompt?.map((p) => p.replace(/\\n/g, "\n")),
        samples: numberArg("--samples", values.samples, { integer: true, min: 1 }),
        ctxLen: numberArg("--ctx-len", values["ctx-len"], { integer: true, min: 1 }),
        seed: numberArg("--seed", values.seed, { integer: true }),
        maxTokens: numberArg("--max-tokens", values["max-tokens"], { integer: true, min: 1 }),
      });
      if (values.json) {
        const { names, sources, losses, heldOut, generations, distances } = c;
        console.log(JSON.stringify({ names, sources, losses, heldOut, generations, distances }, null, 1));
        return 0;
      }
      const w = Math.max(5, ...c.names.map((n) => n.length));
      if (c.losses && c.heldOut) {
        console.log(`held-out loss (${c.heldOut.docs} documents, ${c.heldOut.tokens} tokens):`);
        for (const l of c.losses)
          console.log(
            `  ${pad(l.name, w)}  ${l.loss.toFixed(4)}  ppl ${l.ppl.toFixed(3)}${l.name === c.best ? "  best" : ""}`,
          );
      }
      console.log("distance between the states (all layers):");
      const total = c.totalDistances;
      console.log(`  ${pad("", w)}  ${c.names.map((n) => pad(n, w)).join("  ")}`);
      c.names.forEach((n, i) => console.log(`  ${pad(n, w)}  ${total[i].map((d) => pad(d.toFixed(3), w)).join("  ")}`));
      for (const g of c.generations) {
        console.log(`\n${g.prompt}`);
        g.replies.forEach((r, i) => console.log(`  [${c.names[i]}] ${r.replace(/\n/g, "\n    ")}`));
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
});

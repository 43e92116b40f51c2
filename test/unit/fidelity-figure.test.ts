// The fidelity meter of prompt compilation, from a made-up compile: what it names, where its
// held-out line starts (the warm start, or the zero state when the compile started from zeros),
// and that a KL of 0 (log axis) leaves a gap instead of breaking the line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fidelityFigure, fidelityTitle } from "../../kernel/display/figures/fidelity";
import type { CompileProgress } from "../../kernel/runtime/tune/compile-prompt";

function progress(start: "prompt" | "zero"): CompileProgress {
  const f = (kl: number, top1: number) => ({ kl, top1, positions: 100 });
  return {
    prompt: "System: You are a pirate, and a long system prompt follows here.\n\n",
    promptTokens: 27,
    totalSteps: 4,
    history: [
      { step: 1, kl: 0.2, lr: 0.01, gradNorm: 1 },
      { step: 2, kl: 0, lr: 0.01, gradNorm: 1, heldOut: f(0.05, 0.99) },
      { step: 3, kl: 0.01, lr: 0.01, gradNorm: 1 },
      { step: 4, kl: 0.005, lr: 0.01, gradNorm: 1, heldOut: f(0.002, 1) },
    ],
    zero: f(0.4, 0.9),
    warm: f(0.1, 0.95),
    start,
    best: { step: 4, fidelity: f(0.002, 1) },
  };
}

test("the fidelity meter: title, levels, held-out line from where the compile started", () => {
  for (const start of ["prompt", "zero"] as const) {
    const p = progress(start);
    const fig = fidelityFigure(p);
    const byName = (n: string) => fig.data.find((t) => t.name === n)!;
    const title = fidelityTitle(p);
    assert.match(title, /compiling "System: You are a pirate, and a long sys…" into a state/);
    assert.match(title, start === "zero" ? /\(from zeros\)/ : /\(from the prompt's wkv\)/);
    assert.match(title, /step 4\/4<br>held-out KL 2\.00e-3 nats\/token \(no prompt: 0\.400, warm start: 0\.100\)/);
    assert.match(title, /top-1 agreement 100\.0% · saves 27 tokens per conversation/);
    assert.deepEqual(byName("no prompt (zero state)").y, [0.4, 0.4]);
    assert.deepEqual(byName("held-out KL").x, [0, 2, 4]);
    assert.deepEqual(byName("held-out KL").y, [start === "zero" ? 0.4 : 0.1, 0.05, 0.002]);
    assert.deepEqual(byName("top-1 agreement (held out)").y, [start === "zero" ? 90 : 95, 99, 100]);
    assert.deepEqual(byName("training batch KL").y, [0.2, null, 0.01, 0.005], "a KL of 0 is a gap on the log axis");
    assert.equal((fig.layout.yaxis as { type: string }).type, "log");
  }
});

// How a tuning session shows itself, on the golden RWKV-7 model (V=256, byte tokens): the Tuner, a
// step record, the history and a run's result have compact displays; runs are marked finished,
// interrupted, stopped early or past the schedule; a run after the schedule says why it did nothing.
// compareNextTokens finds where two states' next-token distributions part along an answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Model, Tuner, Dataset, RunResult, StepHistory, compareNextTokens, toBundle } from "../../kernel";
import { GoldenSet } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();

function docs(count: number): Int32Array[] {
  return Array.from({ length: count }, (_, d) =>
    Int32Array.from({ length: 41 }, (_, i) => (i === 40 ? 0 : 97 + ((i + d) % 7))),
  );
}

async function load(): Promise<Model> {
  return Model.load(new GoldenSet("v7").file("model_bf16.pth"), { device: "cpu", tokenizer: "bytes" });
}

const html = (v: unknown) => String(toBundle(v)["text/html"]);
const text = (v: unknown) => String(toBundle(v)["text/plain"]);

test("Tuner, StepRecord, history and run results show compactly", { skip }, async () => {
  const model = await load();
  try {
    const tuner = new Tuner(model, Dataset.fromDocs(docs(20)), { ctxLen: 32, totalSteps: 4, seed: 1 });
    assert.match(text(tuner), /^Tuner\(0 of 4 steps, no steps yet, time left unknown until a step has run; ctxLen 32/);
    const rec = await tuner.step();
    assert.match(
      text(rec),
      /^StepRecord\(step 1 · loss \d+\.\d{4} · lr 1 · \|grad\| [\d.e+-]+ · \d+ tokens · \d+ ms\)$/,
    );
    assert.match(html(rec), /^<div><b>Step 1<\/b> · loss /);
    assert.match(inspect(rec), /^StepRecord\(step 1 · /, "plain node shows the same line");

    const result = await tuner.run({ live: false });
    assert.ok(result instanceof RunResult && Array.isArray(result), "the result is still an array of records");
    assert.deepEqual(
      result.map((r) => r.step),
      [2, 3, 4],
    );
    assert.equal(result.end, "finished");
    assert.match(
      result.summary(),
      /^3 steps \(2–4\) in [\d.]+s · loss \d\.\d{4} → \d\.\d{4} · finished \(schedule complete\)$/,
    );
    assert.match(text(result), /^RunResult: 3 steps/);
    assert.ok(!text(result).includes("gradNorm"), "not a dump of the records");
    assert.match(html(result), /<b>Run<\/b>: 3 steps.*3 step records: result\[i\], or tableView\(result\)/);
    assert.match(inspect(result), /^RunResult: 3 steps/);

    const t = html(tuner);
    for (const want of [
      /progress<\/th><td[^>]*>4 of 4 steps</,
      /last loss<\/th><td[^>]*>\d\.\d{4} at step 4</,
      /time left<\/th><td[^>]*>schedule complete</,
      /learning rate<\/th><td[^>]*>next 0\.01; cos 1 → 0\.01 over 4 steps</,
      /batch<\/th><td[^>]*>1 × ctxLen 32, sampler pad, seed 1</,
      /data<\/th><td[^>]*>20 documents, 820 tokens</,
      /last run<\/th><td[^>]*>3 steps \(2–4\)/,
    ])
      assert.match(t, want);

    assert.ok(tuner.history instanceof StepHistory);
    const h = html(tuner.history);
    assert.match(h, /<caption>4 steps \(1–4\), loss \d\.\d{4} → \d\.\d{4}<\/caption>/);
    assert.equal(h.match(/<tr><td/g)?.length, 4);
    assert.match(inspect(tuner.history), /^StepHistory \[/);
  } finally {
    model.dispose();
  }
});

test(
  "after the schedule, run() says why it ran nothing; with steps it runs past it and says so",
  { skip },
  async () => {
    const model = await load();
    try {
      const tuner = new Tuner(model, Dataset.fromDocs(docs(20)), { ctxLen: 32, totalSteps: 2, seed: 1 });
      await tuner.run({ live: false });
      const none = await tuner.run({ live: false });
      assert.equal(none.length, 0);
      assert.equal(none.end, "nothing to run");
      assert.match(none.warnings[0], /nothing to run: the 2-step schedule is complete \(tuner\.steps = 2\)/);
      assert.match(text(none), /no steps run \(the schedule is complete; tuner\.steps = 2\)\nwarning: nothing to run/);

      const past = await tuner.run({ live: false, steps: 3 });
      assert.deepEqual(
        past.map((r) => r.step),
        [3, 4, 5],
      );
      assert.ok(
        past.every((r) => r.lr === 0.01),
        "past the schedule the learning rate stays at lrFinal",
      );
      assert.match(
        past.warnings[0],
        /past the schedule: steps 3–5 come after its 2 steps, at the final learning rate 0\.01/,
      );
      assert.match(past.summary(), /finished, 3 steps past the 2-step schedule$/);
      assert.match(text(tuner), /^Tuner\(5 steps \(3 past the 2-step schedule\)/);
    } finally {
      model.dispose();
    }
  },
);

test("runs end interrupted or stopped early, and most-padding samples get a warning", { skip }, async () => {
  const model = await load();
  try {
    const data = Dataset.fromDocs(docs(20)); // 41-token documents
    const tuner = new Tuner(model, data, { ctxLen: 200, totalSteps: 10, seed: 1 });
    const ac = new AbortController();
    const cut = await tuner.run({
      live: false,
      signal: ac.signal,
      onStep: (r) => {
        if (r.step === 2) ac.abort();
      },
    });
    assert.equal(cut.end, "interrupted");
    assert.match(cut.summary(), /interrupted after 2 of 10 steps; the state is from step 2$/);
    assert.match(cut.warnings.join("\n"), /most of each sample is padding: about 40 of the 200 positions per step/);

    const early = await tuner.run({ live: false, onStep: (r) => r.step < 4 });
    assert.equal(early.end, "stopped early");
    assert.deepEqual(
      early.map((r) => r.step),
      [3, 4],
    );
    assert.equal(tuner.lastRun?.end, "stopped early");
  } finally {
    model.dispose();
  }
});

test(
  "compareNextTokens: divergence along the answer, the position where the states part, visible tokens",
  { skip },
  async () => {
    const model = await load();
    try {
      const tuner = new Tuner(model, Dataset.fromDocs(docs(20)), { ctxLen: 32, totalSteps: 3, seed: 1 });
      await tuner.run({ live: false });
      const c = await compareNextTokens(model, "abc", [undefined, tuner.state], {
        labels: ["zero", "tuned"],
        answer: "de f\n",
      });
      assert.deepEqual(
        c.answer.map((a) => a.label),
        ["d", "e", "␣", "f", "⏎"],
      );
      assert.equal(c.divergence.length, 5);
      assert.ok(c.divergence.every((d) => d >= 0 && d <= 1));
      const most = Math.max(...c.divergence);
      assert.equal(
        c.position,
        c.divergence.findIndex((d) => d >= 0.95 * most),
      );
      assert.equal(c.chosen, "most different");
      assert.equal(c.context, c.position === 0 ? "abc" : `abc${["d", "de", "de␣", "de␣f"][c.position - 1]}`);
      assert.deepEqual(c.labels, ["zero", "tuned"]);
      assert.equal(c.probabilities.length, 2);
      for (const p of c.probabilities) assert.ok(p.every((x) => x >= 0 && x <= 1));

      const at = await compareNextTokens(model, "abc", [undefined, tuner.state], { answer: "de f\n", position: 3 });
      assert.equal(at.position, 3);
      assert.equal(at.chosen, "given");
      assert.equal(at.context, "abcde␣");
      await assert.rejects(
        compareNextTokens(model, "abc", [undefined], { answer: "de", position: 2 }),
        /past the answer's 2 tokens/,
      );
      await assert.rejects(
        compareNextTokens(model, "abc", [undefined], { topk: 3 } as never),
        /topk.*did you mean topK\?/,
      );

      // Without an answer: the last state's greedy answer, ending at a blank line, the end token or the cap.
      const greedy = await compareNextTokens(model, "abc", [undefined, tuner.state], { maxAnswerTokens: 6 });
      assert.ok(greedy.answer.length >= 1 && greedy.answer.length <= 6);
      assert.equal(greedy.answerFrom, "state 1");
    } finally {
      model.dispose();
    }
  },
);

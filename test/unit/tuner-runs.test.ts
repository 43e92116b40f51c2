// The tuner's options for real runs on a small random RWKV-7 (L4 C128 V256): gradient accumulation
// against one wide batch, chunked BPTT against the unchunked gradient at ctx 1024, a layer subset
// against the full backward, validation with the best state and early stops, and the warm start.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Dataset,
  Model,
  OptionsError,
  parseLayers,
  promptState,
  State,
  Tuner,
  writeRandomCheckpoint,
} from "../../kernel";
import { HeldOut } from "../../kernel/runtime/tune/validation";
import { stepGradient } from "../../kernel/runtime/tune/accumulate";
import type { Batch } from "../../kernel/runtime/data/samplers";
import { goldenModelSkip } from "../helpers/golden-model";
import { relErr } from "../helpers/golden";

const skip = goldenModelSkip();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-tuner-runs-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const L = 4,
  C = 128,
  V = 256,
  S = (C / 64) * 64 * 64;

let modelFile: string | undefined;
async function load(): Promise<Model> {
  if (!modelFile) {
    modelFile = path.join(tmp, "model.pth");
    writeRandomCheckpoint(modelFile, { version: 7, nLayer: L, nEmbd: C, vocabSize: V, dtype: "f32", seed: 7 });
  }
  return Model.load(modelFile, { device: "cpu", tokenizer: "bytes" });
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
/** Documents of random tokens 1..V-1 ending in 0, with a loss mask that drops every third token. */
function randomDocs(count: number, len: number, seed: number): { docs: Int32Array[]; masks: Uint8Array[] } {
  const r = xorshift(seed);
  const docs = Array.from({ length: count }, () => {
    const d = Int32Array.from({ length: len }, () => 1 + Math.floor(r() * (V - 1)));
    d[len - 1] = 0;
    return d;
  });
  const masks = docs.map((d) => Uint8Array.from(d, (_, i) => (i % 3 === 1 ? 0 : 1)));
  return { docs, masks };
}
function noiseState(seed: number): State {
  const r = xorshift(seed);
  return new State(
    { nLayer: L, nEmbd: C, nHead: C / 64, headSize: 64 },
    {
      wkv: Float32Array.from({ length: L * S }, () => (r() - 0.5) * 0.6),
    },
  );
}
const rows = (g: Float32Array, l: number) => g.subarray(l * S, (l + 1) * S);

test("accumulate 4 × microBsz 1 gives the gradient and loss of microBsz 4 (≤ 1e-5 relative)", { skip }, async () => {
  const model = await load();
  try {
    const { docs, masks } = randomDocs(16, 90, 1);
    const data = Dataset.fromDocs(docs, { masks });
    const common = { ctxLen: 128, totalSteps: 4, seed: 3, initState: noiseState(2) };
    const wide = new Tuner(model, data, { ...common, microBsz: 4 });
    const acc = new Tuner(model, data, { ...common, microBsz: 1, accumulate: 4 });
    assert.equal(acc.options.lossMask, "response", "data with a mask is masked by default");
    for (let step = 0; step < 2; step++) {
      const a = await wide.gradient(),
        b = await acc.gradient();
      assert.equal(b.nTargets, a.nTargets, "the same samples and targets");
      assert.ok(Math.abs(b.loss - a.loss) <= 1e-6 * a.loss, `loss ${b.loss} vs ${a.loss}`);
      const e = relErr(b.grad, a.grad);
      assert.ok(e <= 1e-5, `step ${step + 1}: accumulated gradient differs by ${e}`);
      await wide.step();
      await acc.step();
    }
    assert.ok(relErr(acc.state.wkv, wide.state.wkv) <= 1e-4, "the states after two steps agree");
  } finally {
    model.dispose();
  }
});

test(
  "ctx 1024 in chunks of 256 and 300 gives the unchunked gradient (≤ 1e-4 relative per layer)",
  { skip },
  async () => {
    const model = await load();
    try {
      const { docs, masks } = randomDocs(12, 700, 4);
      const data = Dataset.fromDocs(docs, { masks });
      const common = { ctxLen: 1024, microBsz: 2, totalSteps: 2, sampler: "random" as const, seed: 5 };
      const init = noiseState(6);
      const whole = await new Tuner(model, data, { ...common, chunkLen: 1024, initState: init }).gradient();
      for (const chunkLen of [256, 300]) {
        const got = await new Tuner(model, data, { ...common, chunkLen, initState: init }).gradient();
        assert.equal(got.nTargets, whole.nTargets);
        assert.ok(Math.abs(got.loss - whole.loss) <= 1e-5 * whole.loss, `loss ${got.loss} vs ${whole.loss}`);
        for (let l = 0; l < L; l++) {
          const e = relErr(rows(got.grad, l), rows(whole.grad, l));
          assert.ok(e <= 1e-4, `chunkLen ${chunkLen}, layer ${l}: differs by ${e}`);
        }
      }
    } finally {
      model.dispose();
    }
  },
);

test(
  "layers [2, 3]: their gradients equal the full backward's; layers 0, 1 keep initState and are saved",
  { skip },
  async () => {
    const model = await load();
    try {
      const { docs } = randomDocs(8, 200, 7);
      const data = Dataset.fromDocs(docs);
      const init = noiseState(8);
      const common = { ctxLen: 128, microBsz: 2, totalSteps: 3, seed: 1, initState: init };
      const full = await new Tuner(model, data, common).gradient();
      const top = new Tuner(model, data, { ...common, layers: [3, 2, 3] });
      assert.deepEqual(top.options.layers, [2, 3], "sorted and distinct");
      const part = await top.gradient();
      assert.equal(part.loss, full.loss);
      for (const l of [2, 3]) assert.deepEqual(rows(part.grad, l), rows(full.grad, l), `layer ${l}`);
      for (const l of [0, 1])
        assert.ok(
          rows(part.grad, l).every((x) => x === 0),
          `layer ${l} gets no gradient`,
        );
      await top.run({ live: false });
      const after = top.state;
      for (const l of [0, 1]) assert.deepEqual(rows(after.wkv, l), rows(init.wkv, l), `layer ${l} is untouched`);
      for (const l of [2, 3]) assert.notDeepEqual(rows(after.wkv, l), rows(init.wkv, l), `layer ${l} is tuned`);
      const file = path.join(tmp, "top.pth");
      await top.saveState(file, { dtype: "f32" });
      const saved = await State.fromStateFile(model, file);
      assert.deepEqual(saved.wkv, after.wkv, "every layer is in the file, the untrained ones as they started");
      assert.throws(() => new Tuner(model, data, { ...common, layers: [4] }), /layers 4: the model has layers 0\.\.3/);
      assert.throws(() => new Tuner(model, data, { ...common, layers: [] }), OptionsError);
    } finally {
      model.dispose();
    }
  },
);

test("parseLayers: ranges, lists, top-k, and errors naming the text", () => {
  assert.deepEqual(parseLayers("8-11"), [8, 9, 10, 11]);
  assert.deepEqual(parseLayers("0,3, 8-11,3"), [0, 3, 8, 9, 10, 11]);
  assert.deepEqual(parseLayers("top3", 12), [9, 10, 11]);
  assert.throws(() => parseLayers("11-8"), /runs backwards/);
  assert.throws(() => parseLayers("a"), /"a" is not a layer or a range/);
  assert.throws(() => parseLayers("10-12", 12), /the model has layers 0\.\.11/);
  assert.throws(() => parseLayers("top3"), /needs the model's layer count/);
});

/** Documents of a 13-letter cycle: a state can learn them. */
function cycleDocs(count: number, letters: string): Int32Array[] {
  return Array.from({ length: count }, (_, d) => {
    const a = new Int32Array(101);
    for (let i = 0; i < 100; i++) a[i] = 1 + letters.charCodeAt((i + d * 5) % letters.length);
    return a;
  });
}

test(
  "validation: held-out loss on the records every k steps and after the last; keepBest; saveState best",
  { skip },
  async () => {
    const model = await load();
    try {
      const train = Dataset.fromDocs(cycleDocs(40, "abcdefghijklm"));
      const held = Dataset.fromDocs(cycleDocs(10, "abcdefghijklm").reverse());
      const tuner = new Tuner(model, train, {
        ctxLen: 48,
        totalSteps: 12,
        seed: 1,
        validation: { dataset: held, every: 5, samples: 6 },
        keepBest: true,
      });
      await tuner.run({ live: false });
      const validated = tuner.history.filter((r) => r.validationLoss !== undefined);
      assert.deepEqual(
        validated.map((r) => r.step),
        [5, 10, 12],
        "every 5 steps and after the last",
      );
      const losses = validated.map((r) => r.validationLoss!);
      assert.ok(losses[2] < losses[0], `the held-out loss falls: ${losses.join(", ")}`);
      const best = tuner.best!;
      const min = Math.min(...losses);
      assert.equal(best.loss, min);
      assert.equal(best.step, validated[losses.indexOf(min)].step);
      // The best state scores its recorded loss again on the same held-out samples.
      const again = HeldOut.draw(held, { kind: "pad", ctxLen: 48, samples: 6, lossMask: false });
      assert.equal((await again.loss(model, best.state!.wkv, { chunkLen: 512 })).loss, best.loss);
      const file = path.join(tmp, "best.pth");
      await tuner.saveState(file, { best: true, dtype: "f32" });
      assert.deepEqual((await State.fromStateFile(model, file)).wkv, best.state!.wkv);
      // Resume keeps the best state and the validation settings.
      const ckpt = path.join(tmp, "val.ckpt");
      await tuner.saveCheckpoint(ckpt);
      const resumed = await Tuner.resume(ckpt, model, train, { validation: { dataset: held } });
      assert.equal(resumed.options.validation!.every, 5);
      assert.deepEqual(resumed.best!.state!.wkv, best.state!.wkv);
      assert.equal(resumed.best!.step, best.step);
    } finally {
      model.dispose();
    }
  },
);

test("stopWhen: a loss target and patience end run() early and say why on the record", { skip }, async () => {
  const model = await load();
  try {
    const train = Dataset.fromDocs(cycleDocs(40, "abcdefghijklm"));
    const held = Dataset.fromDocs(cycleDocs(10, "abcdefghijklm"));
    // A generous target: met by the first validation.
    const byLoss = new Tuner(model, train, {
      ctxLen: 48,
      totalSteps: 30,
      validation: { dataset: held, every: 3, samples: 4 },
      stopWhen: { loss: 50 },
    });
    const done = await byLoss.run({ live: false });
    assert.equal(done.length, 3);
    assert.match(done[2].stopped!, /validation loss [\d.]+ reached stopWhen\.loss 50/);
    assert.deepEqual(byLoss.stopped, { step: 3, reason: done[2].stopped });
    assert.equal((await byLoss.run({ live: false })).length, 0, "a stopped tuner takes no more steps");
    byLoss.stopped = undefined;
    assert.equal((await byLoss.run({ live: false, steps: 1 })).length, 1, "cleared, it runs on");

    // Without validation the target applies to the training loss.
    const byTrain = new Tuner(model, train, { ctxLen: 48, totalSteps: 30, stopWhen: { loss: 50 } });
    assert.equal((await byTrain.run({ live: false })).length, 1);
    assert.match(byTrain.history[0].stopped!, /training loss/);

    // Patience: held-out data of another cycle gets worse as the state learns this one.
    const other = Dataset.fromDocs(cycleDocs(10, "nopqrstuvwxyz"));
    const byPatience = new Tuner(model, train, {
      ctxLen: 48,
      totalSteps: 40,
      seed: 2,
      validation: { dataset: other, every: 1, samples: 4 },
      stopWhen: { patience: 3 },
    });
    const p = await byPatience.run({ live: false });
    assert.ok(p.length < 40, `stopped after ${p.length} steps`);
    const last = p[p.length - 1];
    assert.match(last.stopped!, /no better validation loss in 3 validations \(best [\d.]+ after step \d+/);
    const best = byPatience.best!;
    assert.equal(last.step - best.step, 3);

    // minDelta: improvements smaller than it do not reset the patience count, but the best state follows them.
    const byDelta = new Tuner(model, train, {
      ctxLen: 48,
      totalSteps: 40,
      validation: { dataset: held, every: 2, samples: 4 },
      stopWhen: { patience: 2, minDelta: 100 },
    });
    const d = await byDelta.run({ live: false });
    assert.equal(d.length, 6, "validations at 2 (the first best), 4 and 6 (not better by 100)");
    assert.match(d[5].stopped!, /no better validation loss \(by 100\) in 2 validations/);
    const lows = d.filter((r) => r.validationLoss !== undefined).map((r) => r.validationLoss!);
    assert.equal(byDelta.best!.loss, Math.min(...lows));

    assert.throws(
      () => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, stopWhen: { patience: 2 } }),
      /patience counts validations/,
    );
    assert.throws(() => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, keepBest: true }), /give validation/);
    assert.throws(
      () => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, validation: { dataset: held, evry: 2 } as never }),
      (e: OptionsError) =>
        e.key === "validation.evry" &&
        e.suggestion === "validation.every" &&
        /Tuner validation: unknown option 'validation\.evry' \(did you mean validation\.every\?\)/.test(e.message),
    );
    assert.throws(
      () => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, validation: { every: 2 } as never }),
      (e: OptionsError) => e.key === "validation.dataset" && /option 'validation\.dataset' is required/.test(e.message),
    );
    assert.throws(
      () => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, stopWhen: { patience: -1 } }),
      (e: OptionsError) =>
        e.key === "stopWhen.patience" && e.message === "stopWhen.patience must be an integer ≥ 1, got -1",
    );
    assert.throws(
      () => new Tuner(model, train, { ctxLen: 48, totalSteps: 1, validation: held as never }),
      /validation\.\w+|validation must be/,
    );
  } finally {
    model.dispose();
  }
});

test("a validation cancelled mid-way leaves the step done and unvalidated", { skip }, async () => {
  const model = await load();
  try {
    const train = Dataset.fromDocs(cycleDocs(40, "abcdefghijklm"));
    // The model as the tuner sees it, aborting the run at its second training call: the first
    // validation call after step 1's single (backward) call.
    const ac = new AbortController();
    let calls = 0;
    const watched = new Proxy(model, {
      get(target, key) {
        if (key === "trainChunk")
          return (...args: Parameters<Model["trainChunk"]>) => {
            if (++calls === 2) ac.abort();
            return target.trainChunk(...args);
          };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const tuner = new Tuner(watched, train, {
      ctxLen: 48,
      totalSteps: 4,
      validation: { dataset: train, every: 1, samples: 4 },
    });
    const rec = await tuner.step(ac.signal);
    assert.equal(calls, 2);
    assert.equal(tuner.steps, 1, "the step itself was done");
    assert.equal(rec.validationLoss, undefined, "its validation was cancelled");
    assert.equal(tuner.history.length, 1);
    const next = await tuner.step();
    assert.equal(typeof next.validationLoss, "number", "the next step validates again");
  } finally {
    model.dispose();
  }
});

test(
  "warm start: a state read from a text, mounted with its shifts, predicts as if the text came first",
  { skip },
  async () => {
    const model = await load();
    try {
      const text = "You are a careful assistant who answers briefly.\n\n";
      const next = model.tokenizer.encode("User: hi");
      const read = await promptState(model, text);
      assert.ok(!read.shiftsAreZero(), "reading a text sets the token shifts");
      const mounted = await model.forward(next, { state: read, logits: "last" });
      const all = model.tokenizer.encode(text + "User: hi");
      const direct = await model.forward(all, { state: model.newState(), logits: "last" });
      const e = relErr(mounted.logits!, direct.logits!);
      assert.ok(e <= 1e-5, `next-token logits differ by ${e} (relative to the largest)`);

      const { docs } = randomDocs(8, 200, 9);
      const tuner = new Tuner(model, Dataset.fromDocs(docs), {
        ctxLen: 64,
        totalSteps: 2,
        initState: "prompt",
        initPrompt: text,
      });
      assert.throws(() => tuner.state, /await tuner\.ready/);
      assert.equal(await tuner.ready, tuner);
      assert.deepEqual(tuner.state.wkv, read.wkv, "the wkv of the read text is the start");
      assert.ok(tuner.state.shiftsAreZero(), "with zero shifts, as PEFT");
      await tuner.run({ live: false });
      assert.equal(tuner.steps, 2);
      assert.throws(
        () => new Tuner(model, Dataset.fromDocs(docs), { ctxLen: 64, totalSteps: 1, initState: "prompt" }),
        /give the text as initPrompt/,
      );
      assert.throws(
        () => new Tuner(model, Dataset.fromDocs(docs), { ctxLen: 64, totalSteps: 1, initPrompt: "x" }),
        /initPrompt is read only with initState: "prompt"/,
      );
    } finally {
      model.dispose();
    }
  },
);

test(
  "a step's gradient written into a reused buffer equals a fresh one (micro-batches, chunks, a layer subset)",
  { skip },
  async () => {
    const model = await load();
    try {
      const r = xorshift(9);
      const batch = (B: number, T: number): Batch => {
        const inputs = Int32Array.from({ length: B * T }, () => 1 + Math.floor(r() * (V - 1)));
        const targets = Int32Array.from(inputs, (_, i) => (i % 5 === 2 ? -100 : inputs[(i + 1) % inputs.length]));
        return { inputs, targets, batch: B, T, nTargets: targets.filter((t) => t >= 0).length };
      };
      const batches = [batch(2, 70), batch(1, 70)];
      const s0 = noiseState(10).wkv;
      const o = { l2wrap: true, chunkLen: 32, layers: [1, 3] };
      const fresh = await stepGradient(model, batches, s0, o);
      const into = new Float32Array(s0.length).fill(Number.NaN); // stale contents must all be replaced
      const reused = await stepGradient(model, batches, s0, { ...o, into });
      assert.equal(reused.grad, into, "the gradient is the buffer given");
      assert.equal(reused.loss, fresh.loss);
      assert.deepEqual(reused.grad, fresh.grad);
      assert.ok(
        rows(reused.grad, 0).every((x) => x === 0),
        "an untrained layer's rows are zeros",
      );
      assert.ok(
        rows(reused.grad, 1).some((x) => x !== 0),
        "a trained layer's rows are not",
      );
      await assert.rejects(stepGradient(model, batches, s0, { ...o, into: new Float32Array(5) }), RangeError);
    } finally {
      model.dispose();
    }
  },
);

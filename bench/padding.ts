// Trimmed batches against exact PEFT semantics (docs/spec.md §3.12), on the tutorial's pirate data:
// the same batches with padding "trim" and "peft" (L2Wrap on, as PEFT trains), compared by loss,
// gradient (relative L2) and time, from the zero state and from a tuned one; on the demo model also
// two whole 60-step runs. `npm run bench padding` measures the demo model;
// `node dist/bench/padding.js <model.pth> [ctxLen ...]` measures another (a World model needs its vocab).
import * as fs from "node:fs";
import type { BenchRow } from "./types";
import { Dataset, nextBatch, createSampler, Model, Tuner, type Batch, type State, type TunerInit } from "../kernel";
import { DEMO_FILES } from "../kernel/runtime/model/demo";
import { tutorialPlan, type TutorialPlan } from "../kernel/tutorial";
import { relativeL2 } from "../kernel/runtime/math";

/** Wall seconds and CPU seconds of the whole process (the native threads included): the CPU ratio
 * stays meaningful on a machine shared with other jobs. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  const r = await f();
  const c = process.cpuUsage(c0);
  return [r, (performance.now() - t0) / 1000, (c.user + c.system) / 1e6];
}

/** One batch both ways from `state`: rows for the loss and gradient difference and the two times. */
async function compareBatch(model: Model, trim: Batch, peft: Batch, state: State, label: string): Promise<BenchRow[]> {
  await model.gradToState(trim, { state, l2wrap: true }); // warm: the first call pays for allocations
  const [t, tTrim, cTrim] = await timed(() => model.gradToState(trim, { state, l2wrap: true }));
  const [p, tPeft, cPeft] = await timed(() => model.gradToState(peft, { state, l2wrap: true }));
  const shape = `B${trim.batch} ctx ${trim.sampleT}: ${trim.T} of ${peft.T} positions run`;
  return [
    {
      group: "padding",
      name: `${label}: |Δloss|/loss`,
      value: Math.abs(t.loss - p.loss) / p.loss,
      unit: "",
      note: shape,
    },
    {
      group: "padding",
      name: `${label}: grad rel L2 trim vs peft`,
      value: relativeL2(t.grad, p.grad),
      unit: "",
      note: shape,
    },
    { group: "padding", name: `${label}: step time peft / trim`, value: tPeft / tTrim, unit: "×", note: shape },
    { group: "padding", name: `${label}: step CPU time peft / trim`, value: cPeft / cTrim, unit: "×", note: shape },
  ];
}

export async function measurePadding(modelPath: string, ctxLens: number[] = []): Promise<BenchRow[]> {
  const model = await Model.load(modelPath);
  const rows: BenchRow[] = [];
  try {
    const texts = fs
      .readFileSync(DEMO_FILES.data, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).text as string);
    const data = Dataset.fromTexts(texts, model.tokenizer);
    const plan = tutorialPlan(model, data);
    const name = model.path === DEMO_FILES.model ? "demo" : `L${model.config.nLayer} C${model.config.nEmbd}`;
    const { microBsz, seed, totalSteps, sampler } = plan;
    const schedule = { microBsz, seed, totalSteps, sampler, lrInit: 1, lrFinal: 0.01, lrSchedule: "cos" as const };
    for (const ctxLen of [plan.ctxLen, ...ctxLens]) {
      const draw = (padding: "trim" | "peft") =>
        nextBatch(createSampler(data, { kind: "pad", ctxLen, microBsz, seed }), microBsz, padding);
      const zero = model.newState();
      rows.push(...(await compareBatch(model, draw("trim"), draw("peft"), zero, `${name} zero state`)));
      // A tuned state (trimmed steps of the tutorial's schedule), where the logits are larger.
      const steps = model.path === DEMO_FILES.model ? 30 : 3;
      const tuner = new Tuner(model, data, { ...schedule, ctxLen });
      await tuner.run({ steps, live: false });
      rows.push(
        ...(await compareBatch(model, draw("trim"), draw("peft"), tuner.state, `${name} after ${steps} steps`)),
      );
    }
    if (model.path === DEMO_FILES.model) rows.push(...(await compareRuns(model, data, plan, schedule)));
  } finally {
    model.dispose();
  }
  return rows;
}

/** Two whole runs of the tutorial's schedule, trim and peft: losses, held-out loss, state difference. */
async function compareRuns(model: Model, data: Dataset, plan: TutorialPlan, schedule: TunerInit): Promise<BenchRow[]> {
  const heldOut = Dataset.fromTexts(
    fs
      .readFileSync(DEMO_FILES.evalData, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).text as string),
    model.tokenizer,
  );
  const run = async (padding: "trim" | "peft") => {
    const t = new Tuner(model, data, { ...schedule, ctxLen: plan.ctxLen, padding });
    const [, , seconds] = await timed(() => t.run({ live: false }));
    return { t, seconds, eval: await t.evaluate(heldOut, { samples: plan.evalSamples }) };
  };
  const a = await run("trim"),
    b = await run("peft");
  const maxDiff = Math.max(...a.t.history.map((h, i) => Math.abs(h.loss - b.t.history[i].loss)));
  const note = `${plan.totalSteps} steps, B${plan.microBsz} ctx ${plan.ctxLen}`;
  return [
    { group: "padding", name: "demo run: max |Δ step loss|", value: maxDiff, unit: "", note },
    {
      group: "padding",
      name: "demo run: state rel L2 trim vs peft",
      value: relativeL2(a.t.state.wkv, b.t.state.wkv),
      unit: "",
      note,
    },
    { group: "padding", name: "demo run: held-out loss, trim", value: a.eval.tuned, unit: "nats", note },
    { group: "padding", name: "demo run: held-out loss, peft", value: b.eval.tuned, unit: "nats", note },
    { group: "padding", name: "demo run: CPU time peft / trim", value: b.seconds / a.seconds, unit: "×", note },
  ];
}

export async function runPaddingBench(): Promise<BenchRow[]> {
  return measurePadding(DEMO_FILES.model, [512]);
}

if (require.main === module) {
  const [file, ...ctx] = process.argv.slice(2);
  measurePadding(file ?? DEMO_FILES.model, ctx.map(Number)).then(
    (rows) => console.table(rows.map((r) => ({ ...r, value: Number(r.value.toPrecision(4)) }))),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}

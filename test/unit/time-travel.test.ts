// Time travel on the tutorial's demo model: snapshots in the tuner checkpoint, a resumed run that is
// bit-identical to the uninterrupted one, tuner.at(step), and branches that continue exactly (or
// with changed options, reproducibly, from the original and from a resumed run alike).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Dataset, Model, Tuner, openCheckpoint, type TokenDataset } from "../../kernel";
import { tutorialSetup } from "../../kernel/tutorial";
import { goldenModelSkip } from "../helpers/golden-model";
import { jsonlTexts } from "../helpers/texts";

const skip = goldenModelSkip();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-time-travel-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const setup = tutorialSetup({});
const texts = jsonlTexts;
const opts = { ctxLen: 32, microBsz: 2, totalSteps: 12, seed: 3, snapshotEvery: 3 };

function sameRun(a: Tuner, b: Tuner, from: number, to: number): void {
  for (let s = from; s <= to; s++) {
    const x = a.history.find((r) => r.step === s)!,
      y = b.history.find((r) => r.step === s)!;
    assert.ok(Math.abs(x.loss - y.loss) < 1e-6, `step ${s}: loss ${x.loss} vs ${y.loss}`);
  }
  assert.deepEqual(b.state.wkv, a.state.wkv, "final states differ");
}

async function withModel(body: (model: Model, data: TokenDataset) => Promise<void>): Promise<void> {
  const model = await Model.load(setup.modelPath);
  try {
    await body(model, Dataset.fromTexts(texts(setup.dataPath), model.tokenizer));
  } finally {
    model.dispose();
  }
}

test("resume from a checkpoint is bit-identical: the same losses, states and kept snapshots", { skip }, () =>
  withModel(async (model, data) => {
    const full = new Tuner(model, data, opts);
    await full.run({ live: false });
    assert.deepEqual(full.snapshots.steps, [0, 3, 6, 9, 12]);

    const part = new Tuner(model, data, opts);
    await part.run({ live: false, steps: 7 });
    const ckpt = path.join(tmp, "part.ckpt");
    await part.saveCheckpoint(ckpt);
    const c = openCheckpoint(ckpt);
    try {
      assert.ok(c.has("snapshot.6.state") && c.has("snapshot.6.adam_m") && c.has("snapshot.6.adam_v"), c.keys().join());
      assert.deepEqual(
        (JSON.parse(c.metadata.snapshots) as { step: number }[]).map((s) => s.step),
        [0, 3, 6],
      );
    } finally {
      c.close();
    }
    const resumed = await Tuner.resume(ckpt, model, data);
    assert.deepEqual(resumed.snapshots.steps, [0, 3, 6]);
    await resumed.run({ live: false });
    sameRun(full, resumed, 8, 12);
    assert.deepEqual(resumed.snapshots.steps, full.snapshots.steps);
    for (const s of full.snapshots.steps) assert.deepEqual(resumed.at(s).wkv, full.at(s).wkv, `at(${s})`);
    assert.ok(
      full.at(0).wkv.every((x) => x === 0),
      "step 0 is the zero state",
    );
    assert.deepEqual(full.at(12).wkv, full.state.wkv);
  }),
);

test(
  "branch: unchanged it continues exactly; with a new lr it is the same from the run and from its checkpoint",
  { skip },
  () =>
    withModel(async (model, data) => {
      const run = new Tuner(model, data, opts);
      await run.run({ live: false });

      const same = run.branch(6);
      assert.equal(same.steps, 6);
      assert.deepEqual([...same.history], run.history.slice(0, 6));
      assert.deepEqual(same.snapshots.steps, [6]);
      await same.run({ live: false });
      assert.equal(same.steps, 12);
      sameRun(run, same, 7, 12);

      const lower = run.branch(6, { lrInit: 0.05, lrFinal: 0.01 });
      await lower.run({ live: false });
      assert.notDeepEqual(lower.state.wkv, run.state.wkv, "a new lr changes nothing");
      assert.ok(lower.history[6].lr < run.history[6].lr, "the branch does not use the new lr");

      const ckpt = path.join(tmp, "run.ckpt");
      await run.saveCheckpoint(ckpt);
      const again = (await Tuner.resume(ckpt, model, data)).branch(6, { lrInit: 0.05, lrFinal: 0.01 });
      await again.run({ live: false });
      sameRun(lower, again, 7, 12);

      const other = Dataset.fromTexts(texts(setup.evalPath), model.tokenizer);
      const moved = run.branch(3, { data: other, totalSteps: 8 });
      await moved.run({ live: false });
      assert.deepEqual(
        moved.history.map((r) => r.step),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal(moved.dataset, other);
    }),
);

test("at() and branch() name the kept steps when asked for another", { skip }, () =>
  withModel(async (model, data) => {
    const run = new Tuner(model, data, opts);
    await run.run({ live: false, steps: 5 });
    assert.throws(() => run.at(4), /step 4 is not kept; the nearest kept steps are 3 and 5/);
    assert.throws(() => run.at(9), /outside this run's steps 0\.\.5/);
    assert.throws(() => run.branch(1), /step 1 is not kept/);
    assert.throws(() => run.branch(3, { lrInt: 1 } as never), /unknown option 'lrInt' \(did you mean lrInit\?\)/);
    assert.throws(() => run.branch(3, { data: [1, 2] } as never), /data must be a TokenDataset/);
  }),
);

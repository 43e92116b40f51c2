// Golden checks through the public API (Model, State, Tuner, state files, merge) for RWKV-7 and
// RWKV-6, fp32 and bf16 weights. Tolerances: test/golden/data/README.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Model, State, Tuner, Dataset, mergeState } from "../../kernel";
import { cosLr } from "../../kernel/runtime/tune/schedule";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-api-"));

function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 0): void {
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i])))
      assert.fail(`${name}[${i}] = ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

for (const v of ["v7", "v6"] as const) {
  for (const file of ["model_fp32.pth", "model_bf16.pth"]) {
    test(`${v} ${file}: PEFT state files mount and reproduce tuned logits and loss`, { skip }, async () => {
      const g = new GoldenSet(v);
      const model = await Model.load(g.file(file), { device: "cpu", tokenizer: "bytes" });
      try {
        assert.equal(model.config.version, v === "v7" ? 7 : 6);
        assert.equal(model.config.params, g.meta.n_params);
        const tokens = g.get("tokens") as Int32Array;
        for (const sf of ["state_peft_bf16.pth", "state_peft_bf16_torch2layout.pth"]) {
          const st = await State.fromStateFile(model, g.file(sf));
          assert.ok(st.shiftsAreZero(), "mounted shifts are zero");
          const { logits } = await model.forward(tokens.subarray(0, tokens.length - 1), { state: st, logits: "all" });
          assertClose(`${sf} tuned.seq.logits`, logits!, g.get("tuned.seq.logits"), 1e-4);
          const loss = await model.loss(tokens, { state: st });
          assert.ok(
            Math.abs(loss - g.get("tuned.loss_ce")[0]) < 1e-5,
            `${sf} loss ${loss} vs ${g.get("tuned.loss_ce")[0]}`,
          );
        }
        const s0 = new State(model.config, { wkv: g.f32("time_state_init") });
        const { loss, grad } = await model.gradToState(tokens, { state: s0 });
        assert.ok(Math.abs(loss - g.get("loss_ce")[0]) < 1e-5, `loss_ce ${loss}`);
        const ref = g.get("grad_ce");
        assertClose("grad_ce", grad, ref, 1e-4 * maxAbs(ref));
        const l2 = await model.gradToState(tokens, { state: s0, l2wrap: true });
        assertClose("grad_l2wrap", l2.grad, g.get("grad_l2wrap"), 1e-4 * maxAbs(ref));
      } finally {
        model.dispose();
      }
    });

    test(`${v} ${file}: merged checkpoint == base + mounted state; our merge writes the same`, { skip }, async () => {
      const g = new GoldenSet(v);
      const base = await Model.load(g.file(file), { device: "cpu" });
      const merged = await Model.load(g.file("model_merged_bf16.pth"), { device: "cpu" });
      const ours = path.join(tmp, `${v}-${file}-merged.pth`);
      await mergeState(g.file(file), g.file("state_peft_bf16.pth"), ours);
      const oursModel = await Model.load(ours, { device: "cpu" });
      try {
        const x = (g.get("tokens") as Int32Array).subarray(0, 64);
        const st = await State.fromStateFile(base, g.file("state_peft_bf16.pth"));
        const a = await base.forward(x, { state: st, logits: "all" });
        const b = await merged.forward(x, { logits: "all" });
        const c = await oursModel.forward(x, { logits: "all" });
        assert.ok(maxAbsDiff(a.logits!, b.logits!) < 1e-5, `merged vs mounted ${maxAbsDiff(a.logits!, b.logits!)}`);
        assert.ok(maxAbsDiff(a.logits!, c.logits!) < 1e-5, `our merge vs mounted ${maxAbsDiff(a.logits!, c.logits!)}`);
        assertClose("merged defaultState", merged.defaultState.wkv, st.wkv, 0);
      } finally {
        base.dispose();
        merged.dispose();
        oursModel.dispose();
      }
    });
  }

  for (const [name, clip] of [
    ["traj", 1.0],
    ["traj_clip", 0.005],
  ] as const) {
    test(`${v}: ${name} trajectory through the Tuner (Adam + clip ${clip})`, { skip }, async () => {
      const g = new GoldenSet(v);
      const model = await Model.load(g.file("model_fp32.pth"), { device: "cpu" });
      try {
        const tokens = g.get("tokens") as Int32Array;
        const data = Dataset.fromDocs([tokens]);
        const tuner = new Tuner(model, data, {
          ctxLen: tokens.length - 1,
          totalSteps: 3,
          lrInit: 1,
          lrFinal: 1,
          gradClip: clip,
          l2wrap: true,
          initState: new State(model.config, { wkv: g.f32("time_state_init") }),
        });
        const loss = g.get(`${name}.loss`),
          norm = g.get(`${name}.gradnorm`),
          states = g.get(`${name}.time_state`);
        const per = tuner.state.wkv.length;
        for (let k = 0; k < 3; k++) {
          const rec = await tuner.step();
          assert.ok(Math.abs(rec.loss - loss[k]) < 1e-4, `step ${k + 1} loss ${rec.loss} vs ${loss[k]}`);
          assert.ok(
            Math.abs(rec.gradNorm - norm[k]) < 1e-4 * Math.max(1, norm[k]),
            `step ${k + 1} grad norm ${rec.gradNorm} vs ${norm[k]}`,
          );
          assertClose(
            `${name} state after step ${k + 1}`,
            tuner.state.wkv,
            states.subarray(k * per, (k + 1) * per),
            1e-2,
          );
        }
      } finally {
        model.dispose();
      }
    });
  }

  test(`${v}: statefile.lr is our cos schedule over 20 steps`, { skip }, () => {
    const g = new GoldenSet(v);
    const lr = g.get("statefile.lr"); // float64 entries holding float32-rounded values
    for (let s = 0; s < 20; s++)
      assert.ok(Math.abs(cosLr(s, 1, 0.01, 20) - lr[s]) < 1e-6, `step ${s}: ${cosLr(s, 1, 0.01, 20)} vs ${lr[s]}`);
  });
}

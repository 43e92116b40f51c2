// Assertions and inputs shared by the v6 and v7 golden tests of the native model.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native, type NativeModel, type NativeState } from "../../kernel/runtime/native";
import { clipGradNorm } from "../../kernel/runtime/tune/adam";
import { GoldenSet, maxAbs, maxAbsDiff } from "./golden";
import { goldenConfig, goldenModel } from "./golden-model";
import { forEachSimdPath } from "./simd";

/** |got − want| ≤ atol + rtol·|want| everywhere; the message names the tensor and the worst element. */
export function assertClose(
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol = 0,
): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let worst = -1,
    excess = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(e <= excess)) {
      excess = e;
      worst = i;
    }
  }
  assert.ok(worst < 0, `${name}: element ${worst} is ${got[worst]}, want ${want[worst]} (atol ${atol}, rtol ${rtol})`);
}

/** Zero shift states; wkv zero ("zero") or the golden time_state_init ("s0"). */
export function goldenState(g: GoldenSet, start: "zero" | "s0"): NativeState {
  const c = goldenConfig(g),
    lc = c.nLayer * c.nEmbd;
  return {
    attX: new Float32Array(lc),
    wkv: start === "s0" ? g.f32("time_state_init") : new Float32Array(lc * c.headSize),
    ffnX: new Float32Array(lc),
  };
}

/** The golden sample: inputs tokens[0:T], targets tokens[1:T+1]. */
export function goldenSample(g: GoldenSet): { inputs: Int32Array; targets: Int32Array; T: number } {
  const tok = g.get("tokens") as Int32Array,
    T = g.meta.ctx_len as number;
  return { inputs: Int32Array.from(tok.subarray(0, T)), targets: Int32Array.from(tok.subarray(1, T + 1)), T };
}

/** Runs `fn` on the golden bf16 model with the set's vocabulary size and sample inputs, then disposes it. */
export async function withGoldenModel(
  g: GoldenSet,
  fn: (model: NativeModel, V: number, x: Int32Array) => Promise<void>,
): Promise<void> {
  const model = goldenModel(g, "model_bf16.pth");
  try {
    await fn(model, goldenConfig(g).vocabSize, goldenSample(g).inputs);
  } finally {
    model.dispose();
  }
}

/** A prompt split over two forwardSeq calls (the first 40 tokens, then the rest) ends in the state one
 * call over the whole prompt reaches, and "last" gives that call's last row of logits. */
export async function checkSplitPrompt(g: GoldenSet, model: NativeModel, V: number, x: Int32Array): Promise<void> {
  const whole = goldenState(g, "s0"),
    all = new Float32Array(x.length * V);
  await model.forwardSeq(x, whole, all, "all");
  const split = goldenState(g, "s0"),
    last = new Float32Array(V);
  await model.forwardSeq(x.subarray(0, 40), split, null, "none");
  await model.forwardSeq(x.subarray(40), split, last, "last");
  assert.ok(maxAbsDiff(last, all.subarray((x.length - 1) * V)) < 2e-5, "last logits");
  assert.ok(maxAbsDiff(split.wkv, whole.wkv) < 2e-5 * Math.max(1, maxAbs(whole.wkv)), "wkv after the split run");
  assert.ok(maxAbsDiff(split.attX, whole.attX) < 1e-5 && maxAbsDiff(split.ffnX, whole.ffnX) < 1e-5, "shift states");
}

export async function runRnn(
  model: NativeModel,
  tokens: Int32Array,
  st: NativeState,
  V: number,
): Promise<Float32Array> {
  const all = new Float32Array(tokens.length * V);
  await model.forwardRnn(tokens, st, all, "all");
  return all;
}

// golden/README "Tolerances to use": logits and shift states atol 1e-4; wkv atol 1e-4 + rtol 1e-4.
export function checkAgainstGolden(
  g: GoldenSet,
  tag: string,
  ref: string,
  logits: Float32Array,
  st: NativeState,
): void {
  assertClose(`${tag} logits`, logits, g.get(`${ref}.logits`), 1e-4);
  assertClose(`${tag} att_x`, st.attX, g.get(`${ref}.att_x`), 1e-4);
  assertClose(`${tag} ffn_x`, st.ffnX, g.get(`${ref}.ffn_x`), 1e-4);
  assertClose(`${tag} wkv`, st.wkv, g.get(`${ref}.wkv`), 1e-4, 1e-4);
}

/** Sequence and RNN mode from zero and s0 starts against golden, for both checkpoint dtypes, on every SIMD path. */
export function goldenForwardTests(version: "v6" | "v7", skip: string | false): void {
  for (const file of ["model_fp32.pth", "model_bf16.pth"]) {
    test(`${version} ${file}: seq and RNN logits and states match golden (zero and s0 starts)`, { skip }, async () => {
      const g = new GoldenSet(version),
        model = goldenModel(g, file),
        V = goldenConfig(g).vocabSize,
        x = goldenSample(g).inputs;
      try {
        await forEachSimdPath(async () => {
          for (const start of ["zero", "s0"] as const) {
            const seq = goldenState(g, start),
              logits = new Float32Array(x.length * V);
            await model.forwardSeq(x, seq, logits, "all");
            checkAgainstGolden(g, `${file} ${start} seq`, `fwd_${start}.seq`, logits, seq);
            const rnn = goldenState(g, start),
              rl = await runRnn(model, x, rnn, V);
            checkAgainstGolden(g, `${file} ${start} rnn`, `fwd_${start}.rnn`, rl, rnn);
            // Both modes run the same fp32 math on the same values: they agree far inside the golden tolerance.
            assert.ok(maxAbsDiff(rl, logits) < 2e-5, `${start}: rnn vs seq logits differ by ${maxAbsDiff(rl, logits)}`);
            assert.ok(maxAbsDiff(rnn.wkv, seq.wkv) < 2e-5 * Math.max(1, maxAbs(seq.wkv)), `${start}: rnn vs seq wkv`);
          }
        });
      } finally {
        model.dispose();
      }
    });
  }
}

/** loss_ce, grad_ce and grad_l2wrap against golden (README tolerances), and the L2Wrap share alone. */
export function checkLossAndGrads(
  g: GoldenSet,
  ce: { loss: number; grad: Float32Array },
  l2: { loss: number; grad: Float32Array },
): void {
  const refLoss = g.get("loss_ce.f64")[0];
  assert.ok(Math.abs(ce.loss - refLoss) < 1e-5, `loss ${ce.loss} vs ${refLoss}`);
  const refCe = g.get("grad_ce.f64"),
    refL2 = g.get("grad_l2wrap.f64");
  assertClose("grad_ce", ce.grad, refCe, 1e-4 * maxAbs(refCe));
  assert.equal(l2.loss, ce.loss, "L2Wrap leaves the loss value unchanged");
  assertClose("grad_l2wrap", l2.grad, refL2, 1e-4 * maxAbs(refL2));
  // The L2Wrap part alone (~1e-5) is far below the tolerance above: check it on its own.
  const diff = l2.grad.map((x, i) => x - ce.grad[i]),
    refDiff = Float64Array.from(refL2, (x, i) => x - refCe[i]);
  assertClose("grad_l2wrap − grad_ce", diff, refDiff, 1e-2 * maxAbs(refDiff));
}

/**
 * The 3-step PEFT trajectory (`traj`, `traj_clip`): CE + L2Wrap gradient, global-norm clip, Adam lr 1;
 * on every SIMD path.
 */
export async function checkTrajectory(
  g: GoldenSet,
  name: "traj" | "traj_clip",
  clip: number,
  lossGrad: (s0: Float32Array) => Promise<{ loss: number; grad: Float32Array }>,
): Promise<void> {
  await forEachSimdPath(async () => {
    const p = g.f32("time_state_init"),
      m = new Float32Array(p.length),
      v = new Float32Array(p.length);
    const losses = g.get(`${name}.loss`),
      norms = g.get(`${name}.gradnorm`),
      states = g.get(`${name}.time_state`);
    for (let step = 0; step < 3; step++) {
      const r = await lossGrad(p);
      assert.ok(Math.abs(r.loss - losses[step]) < 1e-4, `step ${step}: loss ${r.loss} vs ${losses[step]}`);
      const norm = clipGradNorm(r.grad, clip);
      assert.ok(
        Math.abs(norm - norms[step]) < 1e-4 * norms[step] + 1e-6,
        `step ${step}: grad norm ${norm} vs ${norms[step]}`,
      );
      native().adamStep(p, m, v, r.grad, { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, step: step + 1 });
      assertClose(
        `${name} state after step ${step + 1}`,
        p,
        states.subarray(step * p.length, (step + 1) * p.length),
        1e-2,
      );
    }
  });
}

// The CUDA backend against the golden float64 reference and the CPU model (RWKV-7 and RWKV-6): sequence
// and RNN logits and final states, state-tuning loss and gradient to the initial state, nf4/int8 loss gap.
// Every test skips (with info().cuda.reason) where no GPU is usable.
//
// Tolerances: the GPU GEMMs round activations and weights to bf16 (8-bit mantissa, relative step
// 2^-8 ≈ 4e-3) and accumulate in fp32, so outputs carry bf16-level error (docs/spec.md §1.5: ~1e-2 relative).
// Logits and states: max |diff| ≤ 3% of the reference's max |value|. Gradients: relative L2 error
// ≤ 5% and cosine ≥ 0.995. Loss: within 1% relative.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { native, type NativeModel, type NativeState } from "../../kernel/runtime/native";
import { GoldenSet, maxAbs, maxAbsDiff } from "../helpers/golden";
import { goldenConfig, goldenModelSkip, goldenTensors } from "../helpers/golden-model";

const LOGIT_REL = 0.03,
  GRAD_REL_L2 = 0.05,
  GRAD_COS = 0.995,
  LOSS_REL = 0.01;

function cudaSkip(): string | false {
  let info;
  try {
    info = native().info();
  } catch (e) {
    return `native addon not loadable: ${(e as Error).message}`;
  }
  if (!info.cuda.available) return `no usable CUDA device: ${info.cuda.reason ?? "unknown reason"}`;
  return goldenModelSkip();
}

const skip = cudaSkip();
const GOLDEN = skip ? undefined : { v7: new GoldenSet("v7"), v6: new GoldenSet("v6") };
const VERSIONS = ["v7", "v6"] as const;

type Quant = "none" | "nf4" | "int8";
function model(g: GoldenSet, device: "cpu" | "cuda", quant: Quant = "none"): NativeModel {
  return native().createModel(goldenConfig(g), goldenTensors(g, "model_bf16.pth"), device, { quant });
}

function s0State(g: GoldenSet): NativeState {
  const L = g.meta.n_layer as number,
    C = g.meta.n_embd as number;
  return { attX: new Float32Array(L * C), wkv: g.f32("time_state_init"), ffnX: new Float32Array(L * C) };
}

function sample(g: GoldenSet): { inputs: Int32Array; targets: Int32Array; T: number } {
  const tok = g.get("tokens") as Int32Array,
    T = g.meta.ctx_len as number;
  return { inputs: Int32Array.from(tok.subarray(0, T)), targets: Int32Array.from(tok.subarray(1, T + 1)), T };
}

function assertNear(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number): void {
  assert.equal(got.length, want.length, `${name}: length`);
  const d = maxAbsDiff(got, want),
    tol = rel * maxAbs(want);
  assert.ok(d <= tol, `${name}: max |diff| ${d} > ${tol} (${rel} of max |ref|)`);
}

function assertGradClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  let dot = 0,
    gg = 0,
    ww = 0,
    dd = 0;
  for (let i = 0; i < want.length; i++) {
    dot += got[i] * want[i];
    gg += got[i] * got[i];
    ww += want[i] * want[i];
    dd += (got[i] - want[i]) ** 2;
  }
  const cos = dot / Math.sqrt(gg * ww),
    rel = Math.sqrt(dd / ww);
  assert.ok(
    rel <= GRAD_REL_L2 && cos >= GRAD_COS,
    `${name}: relative L2 error ${rel} (≤ ${GRAD_REL_L2}), cosine ${cos} (≥ ${GRAD_COS})`,
  );
}

async function lossGrad(m: NativeModel, g: GoldenSet, l2wrap: boolean) {
  const { inputs, targets, T } = sample(g),
    s0 = g.f32("time_state_init"),
    grad = new Float32Array(s0.length);
  const r = await m.lossAndGrad(inputs, targets, 1, T, s0, grad, { l2wrap });
  return { loss: r.lossSum / r.nTargets, nTargets: r.nTargets, grad };
}

for (const ver of VERSIONS)
  test(`cuda ${ver}: sequence-mode logits and final states match golden and the CPU model`, { skip }, async () => {
    const g = GOLDEN![ver],
      gpu = model(g, "cuda"),
      cpu = model(g, "cpu"),
      { inputs, T } = sample(g),
      V = g.meta.vocab_size as number;
    try {
      const sg = s0State(g),
        sc = s0State(g),
        lg = new Float32Array(T * V),
        lc = new Float32Array(T * V);
      await gpu.forwardSeq(inputs, sg, lg, "all");
      await cpu.forwardSeq(inputs, sc, lc, "all");
      assertNear("logits vs golden", lg, g.get("fwd_s0.seq.logits.f64"), LOGIT_REL);
      assertNear("logits vs CPU", lg, lc, LOGIT_REL);
      assertNear("wkv vs golden", sg.wkv, g.get("fwd_s0.seq.wkv.f64"), LOGIT_REL);
      assertNear("att_x vs golden", sg.attX, g.get("fwd_s0.seq.att_x"), LOGIT_REL);
      assertNear("ffn_x vs golden", sg.ffnX, g.get("fwd_s0.seq.ffn_x"), LOGIT_REL);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

for (const ver of VERSIONS)
  test(
    `cuda ${ver}: RNN mode (a token at a time, in one call) matches golden; "last" logits equal the last row`,
    { skip },
    async () => {
      const g = GOLDEN![ver],
        gpu = model(g, "cuda"),
        { inputs, T } = sample(g),
        V = g.meta.vocab_size as number;
      try {
        const st = s0State(g),
          all = new Float32Array(T * V);
        await gpu.forwardRnn(inputs.subarray(0, T), st, all, "all");
        assertNear("rnn logits vs golden", all, g.get("fwd_s0.rnn.logits"), LOGIT_REL);
        assertNear("rnn wkv vs golden", st.wkv, g.get("fwd_s0.rnn.wkv"), LOGIT_REL);
        const st2 = s0State(g),
          last = new Float32Array(V);
        await gpu.forwardSeq(inputs, st2, last, "last");
        assertNear("seq 'last' vs rnn last row", last, all.subarray((T - 1) * V), LOGIT_REL);
      } finally {
        gpu.dispose();
      }
    },
  );

for (const ver of VERSIONS)
  test(
    `cuda ${ver}: state-tuning loss and gradient to s0 (CE and CE+L2Wrap) match golden and the CPU model`,
    { skip },
    async () => {
      const g = GOLDEN![ver],
        gpu = model(g, "cuda"),
        cpu = model(g, "cpu");
      try {
        const ce = await lossGrad(gpu, g, false),
          cpuCe = await lossGrad(cpu, g, false);
        assert.equal(ce.nTargets, g.meta.ctx_len);
        const ref = g.get("loss_ce.f64")[0];
        assert.ok(Math.abs(ce.loss - ref) <= LOSS_REL * ref, `loss ${ce.loss} vs golden ${ref}`);
        assertGradClose("grad_ce vs golden", ce.grad, g.get("grad_ce.f64"));
        assertGradClose("grad_ce vs CPU", ce.grad, cpuCe.grad);
        const l2 = await lossGrad(gpu, g, true);
        assertGradClose("grad_l2wrap vs golden", l2.grad, g.get("grad_l2wrap.f64"));
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
    },
  );

test("cuda v7: nf4 and int8 weights change the loss a little, not a lot", { skip }, async () => {
  const g = GOLDEN!.v7,
    base = model(g, "cuda"),
    nf4 = model(g, "cuda", "nf4"),
    int8 = model(g, "cuda", "int8");
  try {
    const l0 = (await lossGrad(base, g, false)).loss,
      l4 = (await lossGrad(nf4, g, false)).loss;
    const l8 = (await lossGrad(int8, g, false)).loss;
    assert.notEqual(l4, l0, "nf4 gave the bf16 loss exactly: createModel ignored {quant}");
    // 16 levels per 64-block absmax: a few % relative weight error; the loss moves by well under 10%.
    assert.ok(Math.abs(l4 - l0) < 0.1 * l0, `nf4 loss ${l4} vs bf16 ${l0}`);
    assert.ok(Math.abs(l8 - l0) < 0.02 * l0, `int8 loss ${l8} vs bf16 ${l0}`);
  } finally {
    base.dispose();
    nf4.dispose();
    int8.dispose();
  }
});

test("cuda v7: tokens outside the vocabulary are rejected with the index", { skip }, async () => {
  const g = GOLDEN!.v7,
    gpu = model(g, "cuda"),
    V = g.meta.vocab_size as number;
  try {
    await assert.rejects(async () => gpu.forwardSeq(Int32Array.from([1, V]), s0State(g), null, "none"), /tokens\[1\]/);
  } finally {
    gpu.dispose();
  }
});

test(
  "cuda v7: a layer subset stops the backward and keeps the trained layers' gradients; chunks throw",
  { skip },
  async () => {
    const g = GOLDEN!.v7,
      gpu = model(g, "cuda"),
      { inputs, targets, T } = sample(g),
      s0 = g.f32("time_state_init"),
      L = g.meta.n_layer as number,
      S = s0.length / L;
    try {
      const full = new Float32Array(s0.length),
        top = new Float32Array(s0.length);
      await gpu.lossAndGrad(inputs, targets, 1, T, s0, full, { l2wrap: true });
      const r = await gpu.lossAndGrad(inputs, targets, 1, T, s0, top, { l2wrap: true, layers: [L - 1] });
      assert.equal(r.layersBackward, 1);
      assertNear("top layer", top.subarray((L - 1) * S), full.subarray((L - 1) * S), 1e-6);
      assert.ok(
        top.subarray(0, (L - 1) * S).every((x) => x === 0),
        "untrained layers get zeros",
      );
      const st = s0State(g);
      await assert.rejects(
        gpu.trainChunk({ inputs, targets, batch: 1, T, init: st, ceGradScale: 1 / T, l2wrapScale: 0, gradS0: top }),
        /not available on the CUDA backend yet/,
      );
    } finally {
      gpu.dispose();
    }
  },
);

// outputFloat32 (native/src/napi/output_binding.cc): the logits arrays of Model.forward come from
// the CPU block cache and go back to it when collected. A recycled block holds whatever the last
// user left there, so each forward must write every element it returns: the same forward three
// times (the later ones on recycled blocks once the earlier arrays are collected) gives the same
// logits bit for bit. The suite runs with RWKV_SCRATCH_POISON=1, under which every block handed
// out starts as NaN bits, so an element left unwritten is not finite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Model } from "../../kernel/runtime/model/model";
import { addonWith } from "../helpers/native";

const { addon: A, skip } = addonWith("outputFloat32");

test("outputFloat32 gives n floats and names a bad n", { skip }, () => {
  assert.equal(A!.outputFloat32(5).length, 5);
  assert.equal(A!.outputFloat32(300_000).byteLength, 1_200_000);
  assert.throws(() => A!.outputFloat32(0), /outputFloat32\(n\): n must be an integer/);
  assert.throws(() => A!.outputFloat32(1.5), /outputFloat32\(n\): n/);
});

test("forward logits on recycled blocks: every element written, the same bits each time", { skip }, async () => {
  const model = await Model.demo();
  try {
    const V = model.config.vocabSize;
    const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 31 + 7) % V);
    const runs: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      const all = (await model.forward(tokens, { logits: "all" })).logits!;
      const last = (await model.forward(tokens, { logits: "last", mode: i === 2 ? "rnn" : "seq" })).logits!;
      assert.equal(all.length, tokens.length * V);
      assert.ok(all.every(Number.isFinite) && last.every(Number.isFinite), "an element was left unwritten");
      // (One row goes through the GEMV kernel, all rows through the GEMM: the same to rounding.)
      const row = all.subarray((tokens.length - 1) * V);
      assert.ok(
        last.every((x, j) => Math.abs(x - row[j]) < 1e-4),
        "last row",
      );
      runs.push(Float32Array.from(all));
    }
    assert.deepEqual(runs[1], runs[0]);
    assert.deepEqual(runs[2], runs[0]);
  } finally {
    model.dispose();
  }
});

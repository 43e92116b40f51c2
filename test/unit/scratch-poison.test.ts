// The CPU layers' temporaries are not zeroed (native/src/cpu/scratch_buf.h): every buffer must be
// written before it is read. With RWKV_SCRATCH_POISON=1 each temporary starts as NaN bits, so a
// buffer read before it is written turns the results into NaN. The same forward, loss and state
// gradient in a poisoned process and a plain one must agree bit for bit. (scripts/run-tests.js
// runs the whole suite poisoned too.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const MODEL = path.resolve(__dirname, "..", "..", "kernel", "runtime", "model", "model");

// Prints the bits of every result as hex: logits, loss, gradient (one and two sequences, some of
// the second's targets ignored), and the state after the forward.
const CHILD = `
const { Model } = require(${JSON.stringify(MODEL)});
(async () => {
  const model = await Model.demo();
  const V = model.config.vocabSize, T = 48;
  const tokens = Int32Array.from({ length: T + 1 }, (_, i) => (i * 7919 + 3) % V);
  const hex = (a) => Buffer.from(new Float32Array(a).buffer).toString("hex");
  const { logits, state } = await model.forward(tokens.subarray(0, T), { logits: "all" });
  const one = await model.gradToState(tokens);
  const targets = Int32Array.from(tokens.subarray(1), (t, i) => (i % 5 === 0 ? -100 : t));
  const both = Int32Array.from([...tokens.subarray(1), ...targets]);
  const two = await model.gradToState({ inputs: Int32Array.from([...tokens.subarray(0, T), ...tokens.subarray(0, T)]),
    targets: both, batch: 2, T, nTargets: both.filter((t) => t !== -100).length });
  console.log(JSON.stringify({ nan: [logits, one.grad, two.grad].some((a) => a.some(Number.isNaN)),
    bits: [hex(logits), hex(state.wkv), hex(state.attX), one.loss, hex(one.grad), two.loss, hex(two.grad)] }));
  model.dispose();
})();
`;

function run(poison: "0" | "1"): { nan: boolean; bits: unknown[] } {
  const env = { ...process.env, RWKV_SCRATCH_POISON: poison };
  return JSON.parse(execFileSync(process.execPath, ["-e", CHILD], { encoding: "utf8", env }).trim());
}

test("no CPU temporary is read before it is written: NaN-poisoned scratch gives bit-identical results", () => {
  const plain = run("0"),
    poisoned = run("1");
  assert.equal(plain.nan, false);
  assert.equal(poisoned.nan, false, "a poisoned temporary reached the results");
  assert.deepEqual(poisoned.bits, plain.bits);
});

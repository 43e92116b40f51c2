// State: shapes, views, norms, clone/zero, and its display bundle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { State } from "../../kernel/runtime/model/state";
import { toBundle } from "../../kernel/display";

const dims = { nLayer: 2, nEmbd: 8, nHead: 2, headSize: 4 };

test("views alias the flat arrays in [layer][head][value][key] order", () => {
  const s = new State(dims);
  assert.equal(s.wkv.length, 2 * 2 * 4 * 4);
  s.head(1, 0)[1 * 4 + 2] = 3; // layer 1, head 0, value 1, key 2
  assert.equal(s.wkv[(1 * 2 + 0) * 16 + 1 * 4 + 2], 3);
  s.layer(1).attX[0] = 4;
  assert.equal(s.attX[8], 4);
  assert.throws(() => s.layer(2), /layer 2 is out of range 0..1/);
  assert.throws(() => s.head(0, 2), /head 2 is out of range/);
});

test("clone is deep, zero clears, norms per layer and head", () => {
  const s = new State(dims);
  s.head(0, 1).fill(1); // 16 ones → norm 4
  const c = s.clone();
  s.zero();
  assert.equal(s.norms()[0].wkv, 0);
  const n = c.norms();
  assert.equal(n[0].wkv, 4);
  assert.deepEqual(n[0].heads, [0, 4]);
  assert.equal(n[1].wkv, 0);
  assert.ok(c.shiftsAreZero());
});

test("wrong array sizes are rejected with the shape", () => {
  assert.throws(
    () => new State(dims, { wkv: new Float32Array(3) }),
    /wkv must be a Float32Array of \[2,2,4,4\] = 64 numbers, got 3/,
  );
});

test("display bundle has an HTML table and a text fallback", () => {
  const s = new State(dims);
  s.head(0, 0).fill(0.5);
  const b = toBundle(s);
  assert.match(String(b["text/plain"]), /layer 0: \|wkv\| 2\.0000/);
  // The norm figure shows ‖wkv‖ per layer and head; the table is there only when the token shifts are set.
  assert.match(String(b["text/html"]), /token shifts zero.*class="rwkv-figure".*class="rwkv-static"><img /s);
  assert.doesNotMatch(String(b["text/html"]), /<table>/);
  s.attX.fill(0.25);
  assert.match(String(toBundle(s)["text/html"]), /<table>.*‖wkv‖.*‖att shift‖.*class="rwkv-figure"/s);
});

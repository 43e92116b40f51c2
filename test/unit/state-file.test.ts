// State files: PEFT layout (.pth dict of blocks.{l}.att.time_state, bf16 [H,N,N]), safetensors with
// provenance, round trips, and clear errors for files that do not fit the model.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { State, loadStateFile } from "../../kernel/runtime/model/state";
import { readTimeStates } from "../../kernel/runtime/tune/state-file";
import { openCheckpoint } from "../../kernel/runtime/checkpoint";
import { GoldenSet } from "../helpers/golden";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-statefile-"));
const dims = { nLayer: 2, nEmbd: 128, nHead: 2, headSize: 64 };

function randomState(): State {
  const s = new State(dims);
  for (let i = 0; i < s.wkv.length; i++) s.wkv[i] = Math.sin(i * 0.37) * 2;
  return s;
}

test("pth: exactly L keys in layer order, bf16 [H,N,N], reads back within bf16 rounding", async () => {
  const s = randomState();
  const f = path.join(tmp, "s.pth");
  await s.save(f);
  const c = openCheckpoint(f);
  try {
    assert.deepEqual(c.keys(), ["blocks.0.att.time_state", "blocks.1.att.time_state"]);
    assert.equal(c.entry("blocks.1.att.time_state").dtype, "bf16");
    assert.deepEqual(c.entry("blocks.1.att.time_state").shape, [2, 64, 64]);
  } finally {
    c.close();
  }
  const back = loadStateFile(dims, f);
  for (let i = 0; i < s.wkv.length; i++)
    assert.ok(Math.abs(back.wkv[i] - s.wkv[i]) <= Math.abs(s.wkv[i]) / 256, `element ${i}`);
  assert.ok(back.shiftsAreZero());
});

test("safetensors f32: exact round trip with provenance metadata", async () => {
  const s = randomState();
  const f = path.join(tmp, "s.safetensors");
  await s.save(f, { dtype: "f32", provenance: { steps: 7, final_loss: 1.25 } });
  const c = openCheckpoint(f);
  try {
    assert.equal(c.format, "safetensors");
    assert.equal(c.metadata.steps, "7");
    assert.equal(c.metadata.final_loss, "1.25");
  } finally {
    c.close();
  }
  assert.deepEqual(loadStateFile(dims, f).wkv, s.wkv);
});

test("golden PEFT files (cuda:0 tags, torch2 layout) load and match time_state of the merged model", () => {
  const g = new GoldenSet("v7");
  const a = readTimeStates(dims, g.file("state_peft_bf16.pth"));
  const b = readTimeStates(dims, g.file("state_peft_bf16_torch2layout.pth"));
  assert.deepEqual(a, b);
  assert.deepEqual(readTimeStates(dims, g.file("model_merged_bf16.pth"), { allowOtherKeys: true }), a);
});

test("a state for another model is refused, naming the mismatch; nothing is written on a bad path", async () => {
  const g = new GoldenSet("v7");
  const f = g.file("state_peft_bf16.pth");
  assert.throws(() => readTimeStates({ ...dims, nLayer: 3 }, f), /the state has 2 layers, the model has 3/);
  assert.throws(
    () => readTimeStates({ ...dims, nHead: 4, headSize: 32 }, f),
    /shape \[2,64,64\], the model needs \[4,32,32\] \(heads 2 vs the model's 4\)/,
  );
  assert.throws(() => readTimeStates(dims, g.file("model_bf16.pth")), /has no blocks\.\{l\}\.att\.time_state keys/);
  assert.throws(() => readTimeStates(dims, path.join(tmp, "missing.pth")), /does not exist/);
  const s = randomState();
  // A missing folder is created; a file where the folder should be is refused.
  const blocker = path.join(tmp, "a-file");
  fs.writeFileSync(blocker, "");
  await assert.rejects(s.save(path.join(blocker, "x.pth")), /is not a folder/);
  const keep = path.join(tmp, "keep.pth");
  await s.save(keep);
  const before = fs.readFileSync(keep);
  await assert.rejects(s.save(keep, { dtype: "f64" as never }), /dtype must be "bf16" or "f32"/);
  assert.deepEqual(fs.readFileSync(keep), before, "a failed save leaves the previous file intact");
});

// Merging a state into a base checkpoint (docs/spec.md §4.2): base keys + time_state, checked, atomic.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mergeState } from "../../kernel/runtime/tune/merge";
import { openCheckpoint } from "../../kernel/runtime/checkpoint";
import { GoldenSet } from "../helpers/golden";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-merge-"));

test("our merge has the keys of RWKV-PEFT's merge_state.py output, with identical bytes", async () => {
  const g = new GoldenSet("v7");
  const out = path.join(tmp, "m.pth");
  await mergeState(g.file("model_bf16.pth"), g.file("state_peft_bf16.pth"), out);
  const ours = openCheckpoint(out),
    ref = openCheckpoint(g.file("model_merged_bf16.pth"));
  try {
    assert.deepEqual(ours.keys(), ref.keys());
    for (const k of ref.keys()) {
      const a = ours.read(k),
        b = ref.read(k);
      assert.equal(a.dtype, b.dtype, k);
      assert.deepEqual(a.shape, b.shape, k);
      assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)), `${k} bytes differ`);
    }
  } finally {
    ours.close();
    ref.close();
  }
});

test("a state of another model is refused and no output is written", async () => {
  const v7 = new GoldenSet("v7"),
    v6 = new GoldenSet("v6");
  const out = path.join(tmp, "bad.pth");
  await assert.rejects(
    mergeState(v7.file("model_bf16.pth"), v6.file("model_bf16.pth"), out),
    /no blocks\.\{l\}\.att\.time_state keys/,
  );
  await assert.rejects(
    mergeState(v7.file("model_bf16.pth"), v7.file("state_peft_bf16.pth"), v7.file("model_bf16.pth")),
    /must differ from the inputs/,
  );
  // A missing output folder would be created; a file where the folder should be is refused.
  const blocker = path.join(tmp, "a-file");
  fs.writeFileSync(blocker, "");
  await assert.rejects(
    mergeState(v7.file("model_bf16.pth"), v7.file("state_peft_bf16.pth"), path.join(blocker, "m.pth")),
    /is not a folder/,
  );
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes(".tmp")),
    [],
    "no temporary files left",
  );
});

// Our .pth files load with torch.load(weights_only=True) — what torch >= 2.6 does by default.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writePth } from "../../kernel/runtime/checkpoint";
import { Tensor } from "../../kernel/runtime/tensor";
import { writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";

const PY = "/usr/bin/python3";
const hasTorch = fs.existsSync(PY) && spawnSync(PY, ["-c", "import torch"]).status === 0;
const skip = hasTorch ? false : "Debian python3-torch is not installed";

function torchSummary(file: string): Record<string, [string, number[], number]> {
  const code = `import json,sys,torch\nd=torch.load(sys.argv[1],weights_only=True)\nprint(json.dumps({k:[str(v.dtype),list(v.shape),float(v.float().sum())] for k,v in d.items()}))`;
  return JSON.parse(execFileSync(PY, ["-c", code, file], { encoding: "utf8" }));
}

test("torch.load(weights_only=True) reads our state file and our model file", { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-torch-"));
  try {
    const state = path.join(dir, "state.pth");
    const vals = Array.from({ length: 2 * 64 * 64 }, (_, i) => (i % 7) - 3);
    writePth(state, [["blocks.0.att.time_state", Tensor.fromFloat32(vals, [2, 64, 64], "bf16")]]);
    const s = torchSummary(state);
    assert.deepEqual(Object.keys(s), ["blocks.0.att.time_state"]);
    assert.equal(s["blocks.0.att.time_state"][0], "torch.bfloat16");
    assert.deepEqual(s["blocks.0.att.time_state"][1], [2, 64, 64]);
    assert.equal(s["blocks.0.att.time_state"][2], vals.reduce((a, b) => a + b, 0));
    const model = path.join(dir, "model.pth");
    writeRandomCheckpoint(model, { version: 7, nLayer: 2, nEmbd: 128, vocab: 256, dtype: "f32" });
    const m = torchSummary(model);
    assert.equal(m["blocks.1.att.v1"][0], "torch.float32");
    assert.deepEqual(m["blocks.1.att.v1"][1], [128, 32]);
    assert.ok(!("blocks.0.att.v1" in m));
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

// Our state .pth and merged .pth load in PyTorch with torch.load(weights_only=True), with the
// expected keys, dtypes and shapes (Debian's /usr/bin/python3 + python3-torch; skipped without).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { State } from "../../kernel/runtime/model/state";
import { mergeState } from "../../kernel/runtime/tune/merge";
import { GoldenSet } from "../helpers/golden";

const PY = "/usr/bin/python3";
function torchSkip(): string | false {
  if (!fs.existsSync(PY)) return "no /usr/bin/python3";
  const r = spawnSync(PY, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? false : "Debian python3-torch is not installed";
}
const skip = torchSkip();

/** {key: [dtype, shape, first value]} as torch sees the file. */
function torchView(file: string): Record<string, [string, number[], number]> {
  const code = `import json,sys,torch
d=torch.load(sys.argv[1],map_location="cpu",weights_only=True)
assert type(d) is dict, type(d)
print(json.dumps({k:[str(v.dtype).replace("torch.",""),list(v.shape),float(v.reshape(-1)[0])] for k,v in d.items()}))`;
  const r = spawnSync(PY, ["-c", code, file], { encoding: "utf8" });
  assert.equal(r.status, 0, `torch.load failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test("state .pth (bf16 and f32) loads in torch as a plain dict of [H,N,N] time_states", { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-interop-"));
  const s = new State({ nLayer: 3, nEmbd: 128, nHead: 2, headSize: 64 });
  s.head(2, 1)[0] = 1.5;
  for (const dtype of ["bf16", "f32"] as const) {
    const f = path.join(dir, `s-${dtype}.pth`);
    await s.save(f, { dtype });
    const v = torchView(f);
    assert.deepEqual(Object.keys(v), ["blocks.0.att.time_state", "blocks.1.att.time_state", "blocks.2.att.time_state"]);
    for (const [, [dt, shape]] of Object.entries(v)) {
      assert.equal(dt, dtype === "bf16" ? "bfloat16" : "float32");
      assert.deepEqual(shape, [2, 64, 64]);
    }
    assert.equal(v["blocks.2.att.time_state"][2], 0, "head 0 of layer 2 first value");
  }
});

test("merged .pth loads in torch with the base keys plus time_state", { skip }, async () => {
  const g = new GoldenSet("v7");
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-interop-")), "merged.pth");
  await mergeState(g.file("model_bf16.pth"), g.file("state_peft_bf16.pth"), out);
  const v = torchView(out);
  assert.equal(Object.keys(v).length, 71);
  assert.deepEqual(v["blocks.1.att.time_state"].slice(0, 2), ["bfloat16", [2, 64, 64]]);
  assert.deepEqual(v["emb.weight"].slice(0, 2), ["bfloat16", [256, 128]]);
});

// Our .pth files load with torch.load(weights_only=True) — what torch >= 2.6 does by default.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openCheckpoint, writePth } from "../../kernel/runtime/checkpoint";
import { pickleTensorDict } from "../../kernel/runtime/checkpoint/pickle-writer";
import { ZipWriter } from "../../kernel/runtime/checkpoint/zip-writer";
import { Tensor } from "../../kernel/runtime/tensor";
import { writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";

const PY = "/usr/bin/python3";
const hasTorch = fs.existsSync(PY) && spawnSync(PY, ["-c", "import torch"]).status === 0;
const skip = hasTorch ? false : "Debian python3-torch is not installed";

function torchSummary(file: string): Record<string, [string, number[], number]> {
  const code =
    "import json,sys,torch\nd=torch.load(sys.argv[1],weights_only=True)\n" +
    "print(json.dumps({k:[str(v.dtype),list(v.shape),float(v.float().sum())] for k,v in d.items()}))";
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
    assert.equal(
      s["blocks.0.att.time_state"][2],
      vals.reduce((a, b) => a + b, 0),
    );
    const model = path.join(dir, "model.pth");
    writeRandomCheckpoint(model, { version: 7, nLayer: 2, nEmbd: 128, vocabSize: 256, dtype: "f32" });
    const m = torchSummary(model);
    assert.equal(m["blocks.1.att.v1"][0], "torch.float32");
    assert.deepEqual(m["blocks.1.att.v1"][1], [128, 32]);
    assert.ok(!("blocks.0.att.v1" in m));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "torch.save files with views, every dtype, scalars and a state_dict's _metadata read as torch sees them",
  { skip },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-torch-"));
    try {
      const file = path.join(dir, "views.pth");
      const code = `import json,sys,torch
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) - 7.5
sd = torch.nn.Linear(3, 2).state_dict()
sd["view_cols"] = base[:, 1:3]
sd["transposed"] = base.t()
sd["row"] = base[2]
sd["scalar"] = torch.tensor(7.25)
sd["f16"] = torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16)
sd["bf16"] = torch.tensor([1.5, 0.00299072265625, -3e38], dtype=torch.bfloat16)
sd["f64"] = torch.tensor([[1 / 3, -2.0]], dtype=torch.float64)
sd["i64"] = torch.tensor([-5, 2 ** 40])
for name, dt in [("i32", torch.int32), ("i16", torch.int16), ("i8", torch.int8), ("u8", torch.uint8)]:
    sd[name] = torch.tensor([0, 1, 100, 7], dtype=dt)
sd["bool"] = torch.tensor([True, False, True])
torch.save(sd, sys.argv[1])
summary = lambda v: [str(v.dtype).replace("torch.", ""), list(v.shape), v.double().flatten().tolist()]
print(json.dumps({k: summary(v) for k, v in sd.items()}))`;
      const want = JSON.parse(execFileSync(PY, ["-c", code, file], { encoding: "utf8" })) as Record<
        string,
        [string, number[], number[]]
      >;
      const c = openCheckpoint(file);
      assert.deepEqual(c.keys(), Object.keys(want), "keys in torch's order, _metadata not a key");
      const names: Record<string, string> = {
        float32: "f32",
        float16: "f16",
        bfloat16: "bf16",
        float64: "f64",
        int64: "i64",
        int32: "i32",
        int16: "i16",
        int8: "i8",
        uint8: "u8",
        bool: "bool",
      };
      for (const [k, [dtype, shape, values]] of Object.entries(want)) {
        const t = c.read(k);
        assert.equal(t.dtype, names[dtype], k);
        assert.deepEqual([...t.shape], shape, k);
        assert.deepEqual(
          [...t.toFloat32()],
          values.map((v) => Math.fround(v)),
          k,
        );
      }
      c.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("torch.load reads our zip with ZIP64 fields on every entry (as in a > 4 GiB file)", { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-torch-"));
  try {
    const file = path.join(dir, "z64.pth");
    const fd = fs.openSync(file, "w");
    const zip = new ZipWriter(fd, 0);
    zip.add("z64/data.pkl", pickleTensorDict([{ name: "x", dtype: "f32", shape: [2, 3], storageKey: "0" }], "dict"));
    zip.add("z64/data/0", Tensor.fromFloat32([1, 2, 3, 4, 5, 6], [2, 3]).data);
    zip.add("z64/version", Buffer.from("3\n"));
    zip.finish();
    fs.closeSync(fd);
    assert.deepEqual(torchSummary(file), { x: ["torch.float32", [2, 3], 21] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// .pth and safetensors: reading the golden files, writing what torch writes, and clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openCheckpoint, writePth, writeSafetensors, CheckpointError } from "../../kernel/runtime/checkpoint";
import { Tensor } from "../../kernel/runtime/tensor";
import { detectConfig } from "../../kernel/runtime/model/config";
import { writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";
import { GoldenSet } from "../helpers/golden";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-ckpt-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

test("golden v7 fp32 and bf16 files hold the same values, keys in file order", () => {
  const g = new GoldenSet("v7");
  const a = openCheckpoint(g.file("model_fp32.pth")),
    b = openCheckpoint(g.file("model_bf16.pth"));
  assert.equal(a.keys()[0], "emb.weight");
  assert.equal(a.keys().length, b.keys().length);
  assert.ok(!a.has("blocks.0.att.v0"), "layer 0 has no v0");
  for (const k of a.keys()) {
    assert.deepEqual(a.entry(k).shape, b.entry(k).shape, k);
    assert.deepEqual(a.read(k).toFloat32(), b.read(k).toFloat32(), k);
  }
  assert.equal(b.entry("head.weight").dtype, "bf16");
});

test("PEFT state files (cuda:0 tags, torch 2 zip records) read the same", () => {
  const g = new GoldenSet("v7");
  const a = openCheckpoint(g.file("state_peft_bf16.pth")),
    b = openCheckpoint(g.file("state_peft_bf16_torch2layout.pth"));
  assert.deepEqual(a.keys(), ["blocks.0.att.time_state", "blocks.1.att.time_state"]);
  for (const k of a.keys()) assert.deepEqual(a.read(k).data, b.read(k).data);
  assert.deepEqual(a.entry("blocks.1.att.time_state").shape, [2, 64, 64]);
});

test("detectConfig reads both versions from shapes", () => {
  for (const v of ["v7", "v6"] as const) {
    const g = new GoldenSet(v);
    const c = detectConfig(openCheckpoint(g.file("model_bf16.pth")));
    assert.equal(c.version, v === "v7" ? 7 : 6);
    assert.equal(c.nLayer, g.meta.n_layer);
    assert.equal(c.nEmbd, g.meta.n_embd);
    assert.equal(c.nHead, g.meta.n_head);
    assert.equal(c.headSize, g.meta.head_size);
    assert.equal(c.vocabSize, g.meta.vocab_size);
    assert.equal(c.dimFfn, g.meta.dim_ffn);
    assert.equal(c.params, g.meta.n_params);
  }
  assert.equal(detectConfig(openCheckpoint(new GoldenSet("v7").file("model_merged_bf16.pth"))).hasTimeState, true);
});

test("writePth round trip: state-file pickle layout, alignment, version record", () => {
  const t = Tensor.fromFloat32([1.5, -2, 3.25, 0.1, 5, 6, 7, 8], [2, 2, 2], "bf16");
  const file = path.join(tmp, "state.pth");
  writePth(file, [
    ["blocks.0.att.time_state", t],
    ["blocks.1.att.time_state", t],
  ]);
  const c = openCheckpoint(file);
  assert.deepEqual(c.keys(), ["blocks.0.att.time_state", "blocks.1.att.time_state"]);
  assert.deepEqual(c.read("blocks.1.att.time_state").data, t.data);
  const bytes = fs.readFileSync(file);
  const names = bytes.toString("latin1");
  assert.ok(names.indexOf("state/data.pkl") < names.indexOf("state/data/0"), "data.pkl comes first");
  assert.ok(names.includes("state/version"));
  // PROTO 2, EMPTY_DICT, MARK, BINUNICODE key: a plain dict as RWKV-PEFT writes
  const pkl = bytes.indexOf(Buffer.from([0x80, 0x02, 0x7d, 0x28, 0x58]));
  assert.ok(pkl > 0, "state-file pickle starts PROTO 2 EMPTY_DICT MARK BINUNICODE");
});

test("safetensors round trip keeps metadata", () => {
  const file = path.join(tmp, "s.safetensors");
  const t = Tensor.fromFloat32([1, 2, 3], [3]);
  writeSafetensors(file, { a: t, b: Tensor.fromFloat32([4, 5], [1, 2], "bf16") }, { steps: "3" });
  const c = openCheckpoint(file);
  assert.equal(c.format, "safetensors");
  assert.deepEqual(c.metadata, { steps: "3" });
  assert.deepEqual([...c.read("a").toFloat32()], [1, 2, 3]);
  assert.deepEqual([...c.read("b").toFloat32()], [4, 5]);
});

function expectError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CheckpointError && re.test(e.message));
}

test("bad input: truncated zip, disallowed global, missing key, bad safetensors header", () => {
  const src = fs.readFileSync(new GoldenSet("v7").file("state_peft_bf16.pth"));
  const cut = path.join(tmp, "cut.pth");
  fs.writeFileSync(cut, src.subarray(0, src.length - 100));
  expectError(() => openCheckpoint(cut), /cut\.pth.*(truncated|end-of-central)/);
  // swap the allowed global for os.system (same length keeps the zip valid)
  const evil = Buffer.from(src);
  const at = evil.indexOf("collections\nOrderedDict");
  const file = path.join(tmp, "evil.pth");
  if (at >= 0) {
    evil.write("os\nsystem\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", at, "latin1");
    fs.writeFileSync(file, evil);
    expectError(() => openCheckpoint(file), /global os\.system/);
  }
  const ok = openCheckpoint(new GoldenSet("v7").file("model_bf16.pth"));
  expectError(
    () => ok.read("blocks.0.att.receptance.weigth"),
    /model_bf16\.pth \[blocks\.0\.att\.receptance\.weigth\]: no tensor named.*similar/,
  );
  const st = path.join(tmp, "bad.safetensors");
  fs.writeFileSync(st, Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7b]));
  expectError(() => openCheckpoint(st), /bad\.safetensors.*header length/);
  expectError(() => openCheckpoint(path.join(tmp, "absent.pth")), /absent\.pth: cannot open/);
});

test("writeRandomCheckpoint writes a released-style model that detectConfig reads", () => {
  const file = path.join(tmp, "rand.pth");
  writeRandomCheckpoint(file, { version: 7, nLayer: 3, nEmbd: 128, vocabSize: 300, seed: 3 });
  const c = detectConfig(openCheckpoint(file));
  assert.deepEqual([c.version, c.nLayer, c.nEmbd, c.nHead, c.vocabSize, c.dimFfn], [7, 3, 128, 2, 300, 512]);
  assert.equal(c.dtype, "bf16");
});

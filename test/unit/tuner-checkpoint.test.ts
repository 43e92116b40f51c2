// Tuner checkpoints: safetensors with the run in __metadata__ (readable by any safetensors tool),
// exact round trip, the first "RWKVTUNE" format still read, and clear errors for other files.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openCheckpoint } from "../../kernel/runtime/checkpoint";
import {
  readTunerCheckpoint,
  writeTunerCheckpoint,
  type TunerCheckpointMeta,
} from "../../kernel/runtime/tune/tuner-checkpoint";
import { TUNER_DEFAULTS } from "../../kernel/runtime/tune/options";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-tuner-ckpt-"));
const dims = { nLayer: 2, nEmbd: 8, nHead: 2, headSize: 4 };
const n = 2 * 2 * 4 * 4;
const meta: TunerCheckpointMeta = {
  options: { ...TUNER_DEFAULTS, totalSteps: 30, ctxLen: 16 },
  steps: 3,
  sampler: { kind: "pad", seed: 0, ctxLen: 16, samplesDrawn: 3 },
  history: [{ step: 1, loss: 2.5, lr: 1, gradNorm: 0.5, tokens: 15, tokensPerSecond: 100, elapsedMs: 150 }],
  dims,
  baseSha256: "ab".repeat(32),
};
const arrays = {
  master: Float32Array.from({ length: n }, (_, i) => Math.sin(i) / 3),
  m: Float32Array.from({ length: n }, (_, i) => i * 1e-3),
  v: Float32Array.from({ length: n }, (_, i) => i * 1e-6),
};

test("a safetensors file: [L,H,N,N] f32 tensors and the run as JSON metadata; exact round trip", async () => {
  const f = path.join(tmp, "run.ckpt");
  await writeTunerCheckpoint(f, meta, arrays);
  const c = openCheckpoint(f);
  try {
    assert.equal(c.format, "safetensors");
    assert.deepEqual(c.keys().sort(), ["adam_m", "adam_v", "master_state"]);
    assert.deepEqual(c.entry("master_state").shape, [2, 2, 4, 4]);
    assert.equal(c.metadata.format, "rwkv-notebook tuner checkpoint");
    assert.equal(JSON.parse(c.metadata.steps), 3);
    assert.deepEqual(JSON.parse(c.metadata.dims), dims);
  } finally {
    c.close();
  }
  const back = readTunerCheckpoint(f);
  assert.deepEqual(back.meta, meta);
  assert.deepEqual(back.arrays, arrays);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((x) => x.includes(".tmp-")),
    [],
  );
});

test("the first format (RWKVTUNE + JSON + arrays) is still read", () => {
  const f = path.join(tmp, "legacy.ckpt");
  let json = Buffer.from(JSON.stringify({ ...meta, format: 1, lengths: [n, n, n] }));
  json = Buffer.concat([json, Buffer.alloc((8 - ((12 + json.length) % 8)) % 8, 0x20)]);
  const head = Buffer.alloc(12);
  head.write("RWKVTUNE", 0, "latin1");
  head.writeUInt32LE(json.length, 8);
  const raw = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  fs.writeFileSync(f, Buffer.concat([head, json, raw(arrays.master), raw(arrays.m), raw(arrays.v)]));
  const back = readTunerCheckpoint(f);
  assert.deepEqual(back.meta.options, meta.options);
  assert.equal(back.meta.steps, 3);
  assert.deepEqual(back.meta.sampler, meta.sampler);
  assert.deepEqual(back.arrays, arrays);
  fs.writeFileSync(f, Buffer.concat([head, json, raw(arrays.master)]));
  assert.throws(() => readTunerCheckpoint(f), /array m is truncated/);
});

test("other files are refused naming the file", async () => {
  assert.throws(() => readTunerCheckpoint(path.join(tmp, "none.ckpt")), /cannot read tuner checkpoint/);
  const junk = path.join(tmp, "junk.ckpt");
  fs.writeFileSync(junk, "not a checkpoint at all");
  assert.throws(() => readTunerCheckpoint(junk), /junk\.ckpt is not a tuner checkpoint/);
  const state = path.join(tmp, "state.safetensors");
  const { writeSafetensors } = await import("../../kernel/runtime/checkpoint");
  writeSafetensors(state, { x: { dtype: "f32", shape: [1], data: new Uint8Array(4) } });
  assert.throws(() => readTunerCheckpoint(state), /state\.safetensors is not a tuner checkpoint/);
});

// The snapshot store behind tuner.at/branch and plot.stateEvolution: thinning keeps the first and the
// newest with recent steps dense, a memory budget moves old snapshots to disk and reads them back exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { SnapshotStore, type SnapshotArrays } from "../../kernel/runtime/tune/snapshots";

const size = 64;
const sampler = { kind: "pad" as const, seed: 0, ctxLen: 8, samplesDrawn: 0 };
const arraysOf = (step: number): SnapshotArrays => ({
  state: Float32Array.from({ length: size }, (_, i) => step + i / 100),
  m: Float32Array.from({ length: size }, (_, i) => -step - i),
  v: Float32Array.from({ length: size }, (_, i) => step * i),
});

test("beyond `keep` the older half thins out; the first and the newest stay, recent steps stay dense", () => {
  const s = new SnapshotStore(size, { every: 1, keep: 8, memoryMB: 64 });
  for (let step = 0; step <= 40; step++) s.onStep(step, arraysOf(step), { ...sampler, samplesDrawn: step });
  const steps = s.steps;
  assert.ok(steps.length <= 8 && steps.length >= 4, `kept ${steps.join(",")}`);
  assert.equal(steps[0], 0);
  assert.equal(steps[steps.length - 1], 40);
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
  );
  const gaps = steps.slice(1).map((x, i) => x - steps[i]);
  assert.ok(gaps[gaps.length - 1] <= gaps[0], `gaps ${gaps.join(",")}: recent steps are not denser`);
  assert.deepEqual(s.read(40), arraysOf(40));
  assert.equal(s.info(40)?.sampler.samplesDrawn, 40);
});

test("a policy of every n keeps steps that are multiples of n; 0 keeps only what is added", () => {
  const s = new SnapshotStore(size, { every: 3, keep: 100, memoryMB: 64 });
  for (let step = 1; step <= 10; step++) s.onStep(step, arraysOf(step), sampler);
  assert.deepEqual(s.steps, [3, 6, 9]);
  const off = new SnapshotStore(size, { every: 0, keep: 100, memoryMB: 64 });
  off.add({ step: 0, sampler }, arraysOf(0));
  for (let step = 1; step <= 5; step++) off.onStep(step, arraysOf(step), sampler);
  assert.deepEqual(off.steps, [0]);
});

test("beyond the memory budget old snapshots move to disk and read back exactly; clear removes the files", () => {
  const bytesEach = 3 * 4 * size;
  const s = new SnapshotStore(size, { every: 1, keep: 100, memoryMB: (2.5 * bytesEach) / 2 ** 20 });
  for (let step = 0; step < 6; step++) s.onStep(step, arraysOf(step), sampler);
  assert.ok(s.memoryBytes <= 2.5 * bytesEach, `${s.memoryBytes} bytes in memory`);
  for (let step = 0; step < 6; step++) assert.deepEqual(s.read(step), arraysOf(step), `step ${step}`);
  const dir = fs.readdirSync("/tmp").filter((d) => d.startsWith("rwkv-snapshots-"));
  assert.ok(dir.length > 0, "no spill folder");
  s.clear();
  assert.equal(s.count, 0);
  assert.throws(() => s.read(3), /step 3 is not kept/);
});

test("copies: changing the arrays after add or after read does not change what is kept", () => {
  const s = new SnapshotStore(size, { every: 1, keep: 10, memoryMB: 64 });
  const a = arraysOf(1);
  s.add({ step: 1, sampler }, a);
  a.state[0] = 99;
  s.read(1).state[1] = 99;
  assert.deepEqual(s.read(1), arraysOf(1));
  assert.throws(() => s.add({ step: 2, sampler }, { ...a, m: new Float32Array(3) }), /3 numbers, expected 64/);
});

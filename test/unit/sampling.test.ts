// Next-token sampling: greedy, top-k, top-p cut, and repeatability with a seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkSampling, sampleToken, samplerRandom } from "../../kernel/runtime/model/sampling";

const logits = Float32Array.from([0, 5, 1, 4.5, -2]);

test("temperature 0 and topK 1 are greedy", () => {
  const r = samplerRandom(1);
  assert.equal(sampleToken(logits, { temperature: 0, topP: 1, topK: 0 }, r), 1);
  assert.equal(sampleToken(logits, { temperature: 1, topP: 1, topK: 1 }, r), 1);
});

test("top-k 2 and top-p keep only the most likely tokens", () => {
  const r = samplerRandom(7);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 1, topK: 2 }, r));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // p(1) ≈ 0.60, p(3) ≈ 0.37: topP 0.5 keeps only token 1.
  for (let i = 0; i < 100; i++) assert.equal(sampleToken(logits, { temperature: 1, topP: 0.5, topK: 0 }, r), 1);
});

test("sampling follows the softmax probabilities", () => {
  const r = samplerRandom(3);
  const counts = new Array(5).fill(0);
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1, topP: 1, topK: 0 }, r)]++;
  const e = Array.from(logits, (x) => Math.exp(x)),
    z = e.reduce((a, b) => a + b, 0);
  for (let i = 0; i < 5; i++)
    assert.ok(Math.abs(counts[i] / n - e[i] / z) < 0.015, `token ${i}: ${counts[i] / n} vs ${e[i] / z}`);
});

test("same seed, same tokens; bad options are named", () => {
  const run = (seed: number) => {
    const r = samplerRandom(seed);
    return Array.from({ length: 30 }, () => sampleToken(logits, { temperature: 1.5, topP: 0.95, topK: 0 }, r));
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  assert.throws(() => checkSampling({ temperature: -1, topP: 1, topK: 0 }), /temperature/);
  assert.throws(() => checkSampling({ temperature: 1, topP: 0, topK: 0 }), /topP/);
  assert.throws(() => checkSampling({ temperature: 1, topP: 1, topK: 1.5 }), /topK/);
});

test("on a large vocabulary the sampled ids are exactly the brute-force nucleus", () => {
  const V = 5000,
    topP = 0.6;
  const l = Float32Array.from({ length: V }, (_, i) => Math.sin(i * 1.7) * 3);
  const e = Array.from(l, (x) => Math.exp(x)),
    z = e.reduce((a, b) => a + b, 0);
  const sorted = Array.from({ length: V }, (_, i) => i).sort((a, b) => e[b] - e[a] || a - b);
  const nucleus = new Set<number>();
  let mass = 0;
  for (const i of sorted) {
    nucleus.add(i);
    mass += e[i] / z;
    if (mass >= topP) break;
  }
  const r = samplerRandom(11),
    seen = new Set<number>();
  for (let k = 0; k < 40 * nucleus.size; k++) seen.add(sampleToken(l, { temperature: 1, topP, topK: 0 }, r));
  for (const i of seen) assert.ok(nucleus.has(i), `id ${i} is outside the nucleus`);
  assert.ok(seen.size > 0.95 * nucleus.size, `saw ${seen.size} of ${nucleus.size} nucleus ids`);
});

// The CPU model copies a checkpoint's matrices out of its mapping (cpu/weight_arena.h) and then
// releases the mapping's clean pages (core/host_memory.h). A page JavaScript wrote to is private to
// the process: releasing it would silently revert the bytes to the file's, so it must be kept.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { openCheckpoint } from "../../kernel/runtime/checkpoint";
import { native, type NativeDType, type NativeTensor } from "../../kernel/runtime/native";
import { GoldenSet } from "../helpers/golden";
import { goldenSample, goldenState } from "../helpers/golden-checks";
import { goldenConfig, goldenModelSkip } from "../helpers/golden-model";

const skip = goldenModelSkip();

test(
  "a model built from a mapped checkpoint keeps bytes written into the mapping, and computes with them",
  { skip },
  async () => {
    const g = new GoldenSet("v7"),
      file = g.file("model_bf16.pth"),
      cfg = goldenConfig(g),
      V = cfg.vocabSize,
      x = goldenSample(g).inputs;
    const ckpt = openCheckpoint(file);
    try {
      const mapped: Record<string, NativeTensor> = {};
      for (const name of ckpt.keys()) {
        const t = ckpt.read(name);
        mapped[name] = { dtype: t.dtype as NativeDType, shape: [...t.shape], data: t.data };
      }
      const head = mapped["head.weight"].data as Uint8Array;
      assert.equal(head.buffer.byteLength, fs.statSync(file).size, "the tensors are views of the file's mapping");
      // Write a whole page's worth of the head (and a bit more), so that at least one page is private.
      const written = Uint8Array.from(head.subarray(0, 9000), (b, i) => b ^ (i % 7 === 0 ? 0x01 : 0));
      head.set(written);
      const copied = Object.fromEntries(
        Object.entries(mapped).map(([k, t]) => [k, { ...t, data: Uint8Array.from(t.data as Uint8Array) }]),
      );
      const logitsOf = async (tensors: Record<string, NativeTensor>) => {
        const m = native().createModel(cfg, tensors);
        try {
          const out = new Float32Array(x.length * V);
          await m.forwardSeq(x, goldenState(g, "s0"), out, "all");
          return out;
        } finally {
          m.dispose();
        }
      };
      const fromMapping = await logitsOf(mapped);
      assert.deepEqual(head.subarray(0, written.length), written, "the written bytes survive the model's load");
      assert.deepEqual(fromMapping, await logitsOf(copied), "the model computes with the written bytes");
    } finally {
      ckpt.close();
    }
  },
);

// detectConfig: every dimension from tensor shapes, parameter counts of the released models, and
// errors that name the offending key. Shape-only checkpoints stand in for files where bytes do not matter.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CheckpointError, openCheckpoint, type Checkpoint, type TensorEntry } from "../../kernel/runtime/checkpoint";
import { detectConfig, tensorLayout, type ModelDims } from "../../kernel/runtime/model/config";
import { defaultLora, randomDims, writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";
import type { DType, Tensor } from "../../kernel/runtime/tensor";

/** A checkpoint that has names, dtypes and shapes but no bytes. */
function shapesOnly(list: [string, number[]][], dtype: DType = "bf16"): Checkpoint {
  const m = new Map(list);
  return {
    path: "shapes.pth",
    format: "pth",
    metadata: {},
    keys: () => [...m.keys()],
    has: (k) => m.has(k),
    entry: (k): TensorEntry => {
      const s = m.get(k);
      if (!s) throw new CheckpointError(`no tensor named ${k}`, "shapes.pth", k);
      return { name: k, dtype, shape: s };
    },
    read: (): Tensor => {
      throw new Error("shape-only checkpoint");
    },
    close: () => undefined,
  };
}

const world = (version: 7 | 6, nLayer: number, nEmbd: number): ModelDims =>
  randomDims({ version, nLayer, nEmbd, vocab: 65536 });

test("released RWKV-7 World sizes: LoRA widths and parameter counts (docs/spec.md §1.2, §7.1)", () => {
  const table: [number, number, Record<string, number>, number][] = [
    [12, 768, { w: 64, a: 64, v: 32, g: 128 }, 191_034_624],
    [24, 1024, { w: 64, a: 64, v: 32, g: 128 }, 450_767_872],
    [24, 2048, { w: 96, a: 96, v: 64, g: 256 }, 1_527_404_544],
    [32, 2560, { w: 96, a: 96, v: 64, g: 320 }, 2_947_735_040],
  ];
  for (const [L, C, lora, params] of table) {
    assert.deepEqual(defaultLora(7, C), lora, `C=${C}`);
    const c = detectConfig(shapesOnly(tensorLayout(world(7, L, C))));
    assert.deepEqual(
      [c.version, c.nLayer, c.nEmbd, c.nHead, c.headSize, c.vocabSize, c.dimFfn],
      [7, L, C, C / 64, 64, 65536, 4 * C],
    );
    assert.deepEqual(c.lora, lora);
    assert.equal(c.params, params, `params of L${L} C${C}`);
    assert.equal(c.hasTimeState, false);
  }
});

test("released RWKV-6 World sizes: FFN width, LoRA widths, parameter counts (docs/spec.md §2.3)", () => {
  const table: [number, number, number, Record<string, number>, number][] = [
    [24, 2048, 7168, { mix: 32, decay: 64 }, 1_599_873_024],
    [32, 2560, 8960, { mix: 32, decay: 64 }, 3_099_863_040],
    [32, 4096, 14336, { mix: 64, decay: 128 }, 7_635_746_816],
  ];
  for (const [L, C, F, lora, params] of table) {
    const c = detectConfig(shapesOnly(tensorLayout(world(6, L, C))));
    assert.deepEqual([c.version, c.nLayer, c.nEmbd, c.nHead, c.dimFfn], [6, L, C, C / 64, F]);
    assert.deepEqual(c.lora, lora);
    assert.equal(c.params, params, `params of L${L} C${C}`);
  }
});

test("per-channel vectors stored [C] are accepted; time_state marks a merged model", () => {
  const d = world(7, 2, 128);
  const flat = tensorLayout(d).map(([k, s]): [string, number[]] => [k, s.length === 3 && s[0] === 1 ? [s[2]] : s]);
  flat.push(["blocks.0.att.time_state", [2, 64, 64]], ["blocks.1.att.time_state", [2, 64, 64]]);
  const c = detectConfig(shapesOnly(flat));
  assert.equal(c.hasTimeState, true);
  assert.equal(c.params, detectConfig(shapesOnly(tensorLayout(d))).params, "time_state is not a model parameter");
});

function rejects(list: [string, number[]][], re: RegExp, key?: string): void {
  assert.throws(
    () => detectConfig(shapesOnly(list)),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.match(e.message, re);
      if (key) assert.equal(e.key, key);
      return true;
    },
  );
}

test("inconsistent or foreign checkpoints get an error naming the key", () => {
  const v7 = tensorLayout(world(7, 3, 256));
  const edit = (key: string, shape: number[] | null) =>
    v7.flatMap(([k, s]): [string, number[]][] => (k !== key ? [[k, s]] : shape ? [[k, shape]] : []));
  rejects(edit("blocks.2.att.w1", [256, 48]), /expected \[256,32\]/, "blocks.2.att.w1");
  rejects(
    edit("blocks.1.ffn.value.weight", null),
    /missing tensor blocks\.1\.ffn\.value\.weight/,
    "blocks.1.ffn.value.weight",
  );
  rejects(edit("blocks.0.att.r_k", [3, 64]), /does not fit n_embd 256/, "blocks.0.att.r_k");
  rejects(edit("head.weight", [65535, 256]), /expected \[65536,256\]/, "head.weight");
  rejects([...v7, ["blocks.0.att.time_state", [4, 64, 32]]], /time_state/, "blocks.0.att.time_state");
  // RWKV-5: ln_x and time_faaaa, but neither v7 nor v6 mixing tensors
  rejects(
    [
      ["emb.weight", [256, 128]],
      ["blocks.0.att.time_mix_k", [1, 1, 128]],
      ["blocks.0.att.ln_x.weight", [128]],
    ],
    /RWKV-5.*not supported/,
  );
  rejects(
    [
      ["emb.weight", [256, 128]],
      ["blocks.0.mlp.weight", [128, 128]],
    ],
    /not an RWKV-7 or RWKV-6 checkpoint/,
  );
  rejects([["blocks.0.att.time_state", [2, 64, 64]]], /a state file \(1 time_state tensors\), not a model/);
});

test("random checkpoints of odd sizes read back with their dimensions", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-config-"));
  try {
    const f7 = path.join(dir, "v7.pth");
    writeRandomCheckpoint(f7, {
      version: 7,
      nLayer: 3,
      nEmbd: 96,
      vocab: 100,
      headSize: 32,
      dimFfn: 200,
      lora: { w: 8, a: 16, v: 24, g: 40 },
      dtype: "f32",
      seed: 5,
    });
    const c7 = detectConfig(openCheckpoint(f7));
    assert.deepEqual(
      [c7.nLayer, c7.nEmbd, c7.nHead, c7.headSize, c7.vocabSize, c7.dimFfn, c7.dtype],
      [3, 96, 3, 32, 100, 200, "f32"],
    );
    assert.deepEqual(c7.lora, { w: 8, a: 16, v: 24, g: 40 });
    const f6 = path.join(dir, "v6.pth");
    writeRandomCheckpoint(f6, { version: 6, nLayer: 1, nEmbd: 64, vocab: 50, seed: 5 });
    const c6 = detectConfig(openCheckpoint(f6));
    assert.deepEqual([c6.version, c6.nLayer, c6.nHead, c6.dimFfn, c6.dtype], [6, 1, 1, 224, "bf16"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Acceptance: a 0.1B-shaped bf16 checkpoint (L12 C768 V65536, ~382 MB) written by
// writeRandomCheckpoint is described right by `rwkv-nb info`, and opening it and reading every
// tensor (kept, as the model loader keeps them) peaks under 1.3× the file size in RSS, with the
// addon's mmapFile and with plain positional reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { measureLoad } from "../../bench/load";
import { writeRandomCheckpoint } from "../../kernel/runtime/model/random-checkpoint";

const CLI = path.resolve(__dirname, "..", "..", "..", "bin", "rwkv-nb.js");

test("0.1B bf16 checkpoint: rwkv-nb info, and peak RSS of a full load < 1.3× the file", { timeout: 600_000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-load-"));
  try {
    const file = path.join(dir, "rwkv7-0.1b.pth");
    writeRandomCheckpoint(file, { version: 7, nLayer: 12, nEmbd: 768, vocabSize: 65536, dtype: "bf16", seed: 11 });
    const info = JSON.parse(execFileSync(process.execPath, [CLI, "info", file], { encoding: "utf8" }));
    assert.deepEqual(
      [
        info.version,
        info.n_layer,
        info.n_embd,
        info.n_head,
        info.head_size,
        info.vocab_size,
        info.dim_ffn,
        info.dtype,
        info.params,
        info.has_time_state,
      ],
      ["x070", 12, 768, 12, 64, 65536, 3072, "bf16", 191_034_624, false],
    );
    assert.deepEqual(info.lora, { w: 64, a: 64, v: 32, g: 128 });
    // released file is 382,195,690 bytes; ours differs only in per-entry overhead
    assert.ok(Math.abs(info.bytes - 382_195_690) < 100_000, `file size ${info.bytes}`);

    for (const [how, env] of [
      ["addon as built", process.env],
      ["positional reads", { ...process.env, RWKV_NATIVE: path.join(dir, "no-addon.node") }],
    ] as const) {
      const m = measureLoad(file, env);
      assert.equal(m.tensors, 399);
      const ratio = m.maxRssBytes / m.bytes;
      t.diagnostic(
        `${how}: mmap=${m.mmap} peak RSS ${(m.maxRssBytes / 1e6).toFixed(0)} MB = ${ratio.toFixed(2)}× file, ` +
          `open ${m.openMs.toFixed(0)} ms, read ${m.readMs.toFixed(0)} ms`,
      );
      assert.ok(ratio < 1.3, `${how}: peak RSS ${ratio.toFixed(2)}× the file size`);
      if (how === "positional reads") assert.equal(m.mmap, false);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A 100 MB jsonl converts in a child process with peak RSS under 300 MB (streaming, not loaded).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { writeMixedJsonl } from "../../bench/tokenize";
import { REAL_VOCAB, realVocabSkip } from "../helpers/world-vocab";

const RSS_LIMIT_MB = 300;

test("make-data on a 100 MB jsonl: peak RSS under 300 MB", { skip: realVocabSkip, timeout: 240_000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-make-data-mem-"));
  try {
    const input = path.join(dir, "big.jsonl");
    const { bytes, lines } = writeMixedJsonl(input, 100e6);
    const dist = path.resolve(__dirname, "..", "..");
    const script = `
      const { makeData } = require(${JSON.stringify(path.join(dist, "kernel", "runtime", "data", "make-data.js"))});
      makeData({ input: ${JSON.stringify(input)}, repeat: 2, ctxLen: 512, out: ${JSON.stringify(path.join(dir, "big"))},
                 tokenizer: { vocab: ${JSON.stringify(REAL_VOCAB)} } })
        .then((r) => console.log(JSON.stringify(
          { ...r, skippedLines: undefined, maxRssMB: process.resourceUsage().maxRSS / 1024 })));`;
    const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout.trim().split("\n").pop()!) as {
      maxRssMB: number;
      documents: number;
      items: number;
      inputBytes: number;
      tokens: number;
      tokenizeMBps: number;
    };
    assert.equal(r.inputBytes, bytes);
    assert.equal(r.documents, lines);
    assert.equal(r.items, 2 * lines);
    assert.equal(fs.statSync(path.join(dir, "big.bin")).size, 2 * r.tokens);
    t.diagnostic(
      `100 MB jsonl: peak RSS ${r.maxRssMB.toFixed(0)} MB, ` +
        `tokenize ${r.tokenizeMBps.toFixed(1)} MB/s, ${r.tokens} tokens`,
    );
    assert.ok(r.maxRssMB < RSS_LIMIT_MB, `peak RSS ${r.maxRssMB.toFixed(0)} MB ≥ ${RSS_LIMIT_MB} MB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

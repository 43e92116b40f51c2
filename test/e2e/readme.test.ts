// The README's code, as a reader would paste it: every ```ts block runs as one cell, in order, in one
// rwkv-ts kernel started in an empty folder (the blocks use the demo model and relative paths).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { KernelClient, ROOT, streamText } from "./kernel-client";

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

test("the README shows generating with and without a state, through generate and complete", () => {
  assert.ok(blocks.length >= 3, `only ${blocks.length} ts blocks in the README`);
  const code = blocks.join("\n");
  assert.match(code, /for await \(const \w+ of model\.generate\(/);
  assert.match(code, /model\.complete\(prompt, \{ maxTokens/);
  assert.match(code, /model\.complete\(prompt, \{ state: \w+/);
});

test("every ts block of the README runs as a cell in the kernel", { timeout: 10 * 60_000 }, async () => {
  const k = await KernelClient.start();
  try {
    const outputs: string[] = [];
    for (const [i, code] of blocks.entries()) {
      const r = await k.execute(code, { stopOnError: true });
      const errors = r.iopub.filter((m) => m.header.msg_type === "error").map((m) => String(m.content.evalue));
      assert.equal(r.reply.content.status, "ok", `README block ${i + 1} failed: ${errors.join("; ")}\n${code}`);
      assert.deepEqual(errors, [], `README block ${i + 1} reported errors`);
      assert.equal(streamText(r.iopub, "stderr"), "", `README block ${i + 1} wrote to stderr`);
      outputs.push(streamText(r.iopub));
    }
    // What the blocks claim in their comments: the demo model answers plainly, the tuned state like a pirate.
    const all = outputs.join("\n");
    assert.match(all, /The sky is blue\./, "the untuned demo model answers plainly");
    assert.match(all, /pirate: '.*\b(Arr|matey)\b/, "the tuned state answers like a pirate");
    assert.ok(fs.existsSync(path.join(k.dir, "out", "pirate-state.pth")), "the state file was written in out/");
  } finally {
    await k.close();
  }
});

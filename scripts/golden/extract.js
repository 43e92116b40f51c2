#!/usr/bin/env node
// Writes the in-repo golden set (test/golden/data) from a full golden set (the official code's outputs,
// see test/golden/data/README.md): the checkpoint and state files the tests open, and a golden.bin +
// manifest.json of the same format holding only the tensors the tests read. The rest of the full set
// (debug activations, float64 twins nobody compares against) stays out of the repository.
// Usage: node scripts/golden/extract.js [--from /work/shared/golden] [--to test/golden/data]
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const from = path.resolve(opt("--from", "/work/shared/golden"));
const to = path.resolve(opt("--to", path.join(root, "test", "golden", "data")));

const VERSIONS = ["v7", "v6"];
const FILES = [
  "model_bf16.pth",
  "model_fp32.pth",
  "model_merged_bf16.pth",
  "state_peft_bf16.pth",
  "state_peft_bf16_torch2layout.pth",
];
// What test/**/*.ts reads through GoldenSet (found by logging every name the suite asks for, plus
// the CUDA tests, which skip without a GPU). A test that needs another tensor fails with a message
// pointing here: add the name and re-run this script against the full set.
const TENSORS = [
  "tokens",
  "time_state_init",
  ...["fwd_zero", "fwd_s0"].flatMap((start) =>
    ["seq", "rnn"].flatMap((mode) => ["logits", "att_x", "ffn_x", "wkv"].map((t) => `${start}.${mode}.${t}`)),
  ),
  "fwd_s0.seq.logits.f64",
  "fwd_s0.seq.wkv.f64",
  "loss_ce",
  "loss_ce.f64",
  "grad_ce",
  "grad_ce.f64",
  "grad_l2wrap",
  "grad_l2wrap.f64",
  "adam1.time_state.f64",
  ...["traj", "traj_clip"].flatMap((t) => [`${t}.loss`, `${t}.gradnorm`, `${t}.time_state`]),
  "statefile.lr",
  "tuned.seq.logits",
  "tuned.seq.wkv",
  "tuned.loss_ce",
];
const keep = (name) => TENSORS.includes(name) || name.startsWith("wkv_unit."); // the WKV unit tests read every entry

const ALIGN = 64; // offsets stay 64-byte aligned, as in the full set: typed-array views need no copy

function extract(version) {
  const src = path.join(from, version);
  const dst = path.join(to, version);
  const manifest = JSON.parse(fs.readFileSync(path.join(src, "manifest.json"), "utf8"));
  const bin = fs.readFileSync(path.join(src, "golden.bin"));
  const names = new Set(manifest.tensors.map((t) => t.name));
  const absent = TENSORS.filter((n) => !names.has(n));
  if (absent.length) throw new Error(`${src}/manifest.json lacks ${absent.join(", ")}`);

  const tensors = [];
  const parts = [];
  let offset = 0;
  for (const t of manifest.tensors.filter((e) => keep(e.name))) {
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
    if (pad) parts.push(Buffer.alloc(pad));
    offset += pad;
    parts.push(bin.subarray(t.offset, t.offset + t.nbytes));
    tensors.push({ ...t, offset });
    offset += t.nbytes;
  }
  fs.mkdirSync(dst, { recursive: true });
  fs.writeFileSync(path.join(dst, "golden.bin"), Buffer.concat(parts));
  fs.writeFileSync(
    path.join(dst, "manifest.json"),
    JSON.stringify({ ...manifest, total_bytes: offset, tensors }, null, 1) + "\n",
  );
  for (const f of FILES) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  const dropped = manifest.tensors.length - tensors.length;
  console.log(
    `${version}: ${tensors.length} tensors (${offset} bytes) kept, ${dropped} dropped; ${FILES.length} files`,
  );
}

for (const v of VERSIONS) extract(v);

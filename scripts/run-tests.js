#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Extra arguments filter by path substring: `node scripts/run-tests.js golden tokenizer`.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".test.js") && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p);
  }
})(path.join(root, "dist", "test"));
files.sort();
if (files.length === 0) {
  console.error("no test files found under dist/test (run `npm run build:ts`)");
  process.exit(1);
}
// The CPU layers' temporaries start as NaN bits in tests, so that one read before it is written
// fails the golden checks instead of reading whatever the last call left (native/src/cpu/scratch_buf.h).
const env = { RWKV_SCRATCH_POISON: "1", ...process.env };
const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  cwd: root,
  env,
});
process.exit(r.status ?? 1);

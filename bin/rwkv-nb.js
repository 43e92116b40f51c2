#!/usr/bin/env node
"use strict";
require("../dist/kernel/cli/main.js")
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err) => {
      console.error(`rwkv-nb: ${err && err.message ? err.message : err}`);
      process.exitCode = 1;
    },
  );

#!/usr/bin/env node
// Builds the native addon with CMake. CUDA sources are compiled only where nvcc and a
// CUDA toolkit are found; otherwise the addon is CPU-only and we say so once.
// Usage: node scripts/build-native.js [--build-dir DIR] [--debug] [--no-cuda]
// Environment: RWKV_MARCH=<arch> adds -march=<arch> (e.g. native) to the CPU code; by default the
// addon is built for any x86-64 and picks its SIMD path at run time.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const os = require("node:os");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const buildDir = path.resolve(opt("--build-dir") || path.join(root, "native", "build"));
const buildType = args.includes("--debug") ? "Debug" : "Release";
const noCuda = args.includes("--no-cuda") || process.env.RWKV_NO_CUDA === "1";

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { stdio: "inherit", cwd: root });
  if (r.error) {
    console.error(`rwkv-notebook: cannot run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status || 1);
}

const napiInclude = require("node-api-headers").include_dir;
const addonApiInclude = path.dirname(require.resolve("node-addon-api/package.json"));
fs.mkdirSync(buildDir, { recursive: true });
run("cmake", [
  "-S",
  path.join(root, "native"),
  "-B",
  buildDir,
  `-DCMAKE_BUILD_TYPE=${buildType}`,
  `-DNODE_API_INCLUDE=${napiInclude}`,
  `-DNODE_ADDON_API_INCLUDE=${addonApiInclude}`,
  `-DRWKV_CUDA=${noCuda ? "OFF" : "AUTO"}`,
  // Passed on every configure, so that a build folder made before the run-time SIMD dispatch
  // (when -march=native was the default) does not keep it from its cache. RWKV_MARCH=native opts in.
  `-DRWKV_MARCH=${process.env.RWKV_MARCH ?? ""}`,
]);
run("cmake", ["--build", buildDir, "--parallel", String(Math.max(1, os.cpus().length))]);

#!/usr/bin/env bash
# One prepared run of the CUDA backend on a GPU machine: build the addon for this card, run the CUDA
# tests, then the benchmark (bench/gpu.ts). Run from anywhere inside a copy of this repo's working tree.
# Needs: nvcc + CUDA toolkit, cmake ≥ 3.18, g++, Node ≥ 20 with node_modules (node-addon-api,
# node-api-headers, typescript unless dist/ is already built). Nothing is downloaded.
# Env: OUT (folder for results), NODE (node binary), RWKV_GOLDEN (another golden set), BENCH_ARGS (extra
# arguments for bench/gpu.js, e.g. "--sizes 0.1B --ctx 512"), BUILD_DIR.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
OUT=${OUT:-$ROOT/gpu-out}
BUILD_DIR=${BUILD_DIR:-/tmp/rwkv-gpu-build}
mkdir -p "$OUT"
LOG="$OUT/gpu-run.log"
exec > >(tee -a "$LOG") 2>&1
say() { echo "[gpu.sh $(date -u +%H:%M:%S)] $*"; }
fail() { say "FAILED: $1"; exit "${2:-1}"; }

# --- what this machine has --------------------------------------------------------------------------
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader || say "nvidia-smi not found"
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null | head -1)
[ -n "$NVCC" ] || fail "nvcc not found (PATH and /usr/local/cuda/bin): the CUDA toolkit is needed to build"
say "nvcc: $NVCC ($("$NVCC" --version | tail -1))"
command -v cmake >/dev/null || fail "cmake not found"
NODE=${NODE:-$(command -v node || true)}
for cand in "$ROOT/.tools/node/bin/node" "$ROOT/.tools/node"; do [ -z "$NODE" ] && [ -x "$cand" ] && NODE=$cand; done
NODE_OK=0
if [ -n "$NODE" ]; then
  NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$NODE_MAJOR" -ge 20 ]; then NODE_OK=1; say "node: $NODE ($("$NODE" --version))"; else say "node $NODE is too old (need ≥ 20)"; fi
else
  say "Node.js not found (PATH, \$NODE, .tools/node/bin/node): building only; carry a Node ≥ 20 binary in .tools/node/bin/node to test and benchmark"
fi
NAPI_INC="$ROOT/node_modules/node-api-headers/include"
ADDON_INC="$ROOT/node_modules/node-addon-api"
[ -f "$NAPI_INC/node_api.h" ] || fail "node_modules/node-api-headers is missing (carry node_modules or at least node-api-headers + node-addon-api)"
[ -f "$ADDON_INC/napi.h" ] || fail "node_modules/node-addon-api is missing"

# --- build for this card ----------------------------------------------------------------------------
CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
ARCHS=${CAP:+${CAP}-real}
ARCHS=${ARCHS:-"80-real;90-real"}
say "building into $BUILD_DIR for CUDA architectures $ARCHS"
T0=$(date +%s)
cmake -S native -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRWKV_CUDA=ON "-DRWKV_CUDA_ARCHS=$ARCHS" \
  "-DCMAKE_CUDA_COMPILER=$NVCC" "-DNODE_API_INCLUDE=$NAPI_INC" "-DNODE_ADDON_API_INCLUDE=$ADDON_INC" >"$OUT/cmake.log" 2>&1 \
  || { tail -30 "$OUT/cmake.log"; fail "cmake configure"; }
cmake --build "$BUILD_DIR" --parallel "$(nproc)" >"$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; fail "build"; }
say "built in $(( $(date +%s) - T0 )) s: $BUILD_DIR/rwkv_native.node"
export RWKV_NATIVE="$BUILD_DIR/rwkv_native.node"
[ "$NODE_OK" = 1 ] || fail "no usable Node.js: stopping after the build" 2

# --- TypeScript -------------------------------------------------------------------------------------
if [ -f node_modules/typescript/bin/tsc ]; then
  "$NODE" node_modules/typescript/bin/tsc -p . >"$OUT/tsc.log" 2>&1 || say "tsc reported errors (see tsc.log); using what it emitted"
fi
[ -f dist/test/unit/cuda.test.js ] && [ -f dist/bench/gpu.js ] || fail "dist/ has no compiled tests/bench (no typescript in node_modules and no dist/ carried)"
"$NODE" -e 'const i=require(process.env.RWKV_NATIVE).info(); console.log(JSON.stringify(i.cuda)); if(!i.cuda.available) process.exit(3)' \
  || fail "the addon sees no usable CUDA device (see the line above)" 3

# --- tests --------------------------------------------------------------------------------------------
say "golden data: ${RWKV_GOLDEN:-test/golden/data (in the tree)}"
TEST_RC=0
timeout 300 "$NODE" --test dist/test/unit/cuda-ops.test.js dist/test/unit/cuda.test.js 2>&1 | tee "$OUT/tests.log" | tail -60
TEST_RC=${PIPESTATUS[0]}
say "tests exit code $TEST_RC"

# --- benchmark ----------------------------------------------------------------------------------------
# shellcheck disable=SC2086
timeout 480 "$NODE" dist/bench/gpu.js --out "$OUT/gpu-bench.json" ${BENCH_ARGS:-}
BENCH_RC=$?
say "bench exit code $BENCH_RC; results in $OUT"
[ "$TEST_RC" = 0 ] && [ "$BENCH_RC" = 0 ]

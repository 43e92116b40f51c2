#!/usr/bin/env bash
# One prepared run of the CUDA backend on a GPU machine: build the addon for this card, run the CUDA
# tests (with cuBLAS and with our own GEMM kernel), then the benchmark (bench/gpu.ts). Every step runs
# even when an earlier one failed, so that one run shows everything; the exit code is 0 only when all
# passed. Run from anywhere inside a copy of this repo's working tree. bench/GPU.md says what it needs.
# Env: OUT (folder for results), NODE (node binary), RWKV_CUBLAS (a libcublas path, or "off"),
# RWKV_GOLDEN (another golden set), BENCH_ARGS (extra arguments for bench/gpu.js), BUILD_DIR.
# With GPU_SH_REHEARSE=1 it stops before the steps that need a GPU (the rehearsal on a CPU machine).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
OUT=${OUT:-$ROOT/gpu-out}
BUILD_DIR=${BUILD_DIR:-/tmp/rwkv-gpu-build}
mkdir -p "$OUT"
LOG="$OUT/gpu-run.log"
exec > >(tee -a "$LOG") 2>&1
say() { echo "[gpu.sh $(date -u +%H:%M:%S)] $*"; }
FAILED=()
failed() { say "FAILED: $1"; FAILED+=("$1"); }
finish() {
  if [ ${#FAILED[@]} -eq 0 ]; then say "all steps passed"; exit 0; fi
  say "failed steps: ${FAILED[*]}"
  exit 1
}

# --- what this machine has --------------------------------------------------------------------------
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  || say "nvidia-smi: no GPU visible"
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null | head -1)
[ -n "$NVCC" ] && say "nvcc: $NVCC ($("$NVCC" --version | tail -1))" || say "nvcc not found"

# Node: the machine's own, else the one carried xz-compressed in .gpu/node.xz (bench/GPU.md).
NODE=${NODE:-$(command -v node || true)}
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -z "$NODE" ] || [ "$(node_major "$NODE")" -lt 20 ]; then
  if [ -f .gpu/node.xz ]; then
    NODE=/tmp/rwkv-node/node
    mkdir -p /tmp/rwkv-node
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' \
      .gpu/node.xz "$NODE" && chmod +x "$NODE" || NODE=""
  else
    NODE=""
  fi
fi
[ -n "$NODE" ] && [ "$(node_major "$NODE")" -ge 20 ] && say "node: $NODE ($("$NODE" --version))" \
  || { failed "no Node ≥ 20 (PATH, \$NODE, .gpu/node.xz)"; finish; }

# cuBLAS: the loader's path, else the first libcublas under the CUDA folders or /opt (Python's
# nvidia-cublas wheel); its folder goes on LD_LIBRARY_PATH for its libcublasLt.
if [ -z "${RWKV_CUBLAS:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.1[23]'; then
  f=$(find /usr/local/cuda*/ /opt /usr/lib -name 'libcublas.so.1[23]*' 2>/dev/null | sort | head -1)
  [ -n "$f" ] && export RWKV_CUBLAS=$f LD_LIBRARY_PATH="$(dirname "$f")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
say "RWKV_CUBLAS=${RWKV_CUBLAS:-<loader path>}"

# --- build for this card ----------------------------------------------------------------------------
NAPI_INC="$ROOT/node_modules/node-api-headers/include"
ADDON_INC="$ROOT/node_modules/node-addon-api"
CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
ARCHS=${CAP:+${CAP}-real}
ARCHS=${ARCHS:-"80-real;90-real"}
ADDON=""
if [ -n "$NVCC" ] && [ -f "$NAPI_INC/node_api.h" ] && [ -f "$ADDON_INC/napi.h" ]; then
  say "building into $BUILD_DIR for CUDA architectures $ARCHS"
  T0=$(date +%s)
  if cmake -S native -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRWKV_CUDA=ON "-DRWKV_CUDA_ARCHS=$ARCHS" \
    "-DCMAKE_CUDA_COMPILER=$NVCC" "-DNODE_API_INCLUDE=$NAPI_INC" "-DNODE_ADDON_API_INCLUDE=$ADDON_INC" \
    >"$OUT/cmake.log" 2>&1 && cmake --build "$BUILD_DIR" --parallel "$(nproc)" >"$OUT/build.log" 2>&1; then
    ADDON="$BUILD_DIR/rwkv_native.node"
    say "built in $(($(date +%s) - T0)) s"
  else
    tail -20 "$OUT/cmake.log"; grep -E "error" "$OUT/build.log" | head -30
    failed "build on this machine"
  fi
else
  failed "build on this machine (needs nvcc and node_modules/node-api-headers + node-addon-api)"
fi
if [ -z "$ADDON" ] && [ -f .gpu/rwkv_native.node ]; then
  ADDON="$ROOT/.gpu/rwkv_native.node"
  say "using the carried build .gpu/rwkv_native.node"
fi
[ -n "$ADDON" ] || { failed "no addon"; finish; }
export RWKV_NATIVE="$ADDON"
[ -f dist/test/unit/cuda.test.js ] && [ -f dist/bench/gpu.js ] \
  || { failed "dist/ has no compiled tests/bench (build it with npm run build:ts and carry it)"; finish; }
"$NODE" -e 'const i=require(process.env.RWKV_NATIVE).info(); console.log(JSON.stringify(i.cuda)); if(!i.cuda.available) process.exit(3)'
CUDA_RC=$?
if [ "${GPU_SH_REHEARSE:-0}" = 1 ]; then say "rehearsal: stopping before the GPU steps (addon: $ADDON)"; finish; fi
[ "$CUDA_RC" = 0 ] || { failed "the addon sees no usable CUDA device (see the line above)"; finish; }

# --- tests: with cuBLAS (where loaded), then with our own GEMM kernel ----------------------------------
say "golden data: ${RWKV_GOLDEN:-test/golden/data (in the tree)}"
TESTS="dist/test/unit/cuda-ops.test.js dist/test/unit/cuda.test.js"
# shellcheck disable=SC2086
timeout 240 "$NODE" --test --test-reporter=spec $TESTS >"$OUT/tests.log" 2>&1 || failed "CUDA tests (default GEMM path)"
grep -E "^(✔|✖|﹣)|^ℹ (tests|pass|fail|skipped)|not ok" "$OUT/tests.log" | head -40
# shellcheck disable=SC2086
RWKV_CUBLAS=off timeout 240 "$NODE" --test --test-reporter=spec $TESTS >"$OUT/tests-own-gemm.log" 2>&1 \
  || failed "CUDA tests (RWKV_CUBLAS=off: own GEMM kernel)"
grep -E "^ℹ (tests|pass|fail|skipped)" "$OUT/tests-own-gemm.log"

# --- benchmark ----------------------------------------------------------------------------------------
# shellcheck disable=SC2086
timeout 420 "$NODE" dist/bench/gpu.js --out "$OUT/gpu-bench.json" ${BENCH_ARGS:-} || failed "bench"

# --- where a 0.1B step spends its time: device time per kernel (ncu, where it can read the GPU) -------
if command -v ncu >/dev/null && [ "${GPU_SH_PROFILE:-1}" = 1 ]; then
  timeout 240 ncu --clock-control none --metrics gpu__time_duration.sum --print-kernel-base function --csv \
    --log-file /tmp/rwkv-ncu.csv "$NODE" dist/bench/gpu.js --sizes 0.1B --quant none --ctx 1024 --step-only \
    >"$OUT/ncu-run.log" 2>&1 || failed "ncu profile of a 0.1B step"
  python3 - /tmp/rwkv-ncu.csv <<'PY' || failed "ncu summary"
import csv, collections, sys
scale = {"nsecond": 1e-6, "ns": 1e-6, "usecond": 1e-3, "us": 1e-3, "msecond": 1.0, "ms": 1.0, "second": 1e3, "s": 1e3}
tot, cnt = collections.Counter(), collections.Counter()
with open(sys.argv[1]) as f:
    rows = [l for l in f if l.startswith('"')]
for r in csv.DictReader(rows):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    if r["Metric Unit"] not in scale:
        sys.exit(f"ncu summary: unknown unit {r['Metric Unit']!r}")
    ms = float(r["Metric Value"].replace(",", "")) * scale[r["Metric Unit"]]
    tot[r["Kernel Name"]] += ms
    cnt[r["Kernel Name"]] += 1
all_ms = sum(tot.values())
print(f"ncu: {sum(cnt.values())} kernels, {all_ms:.1f} ms of device time (one forward, two steps)")
for name, ms in tot.most_common(15):
    print(f"  {ms:9.2f} ms {100 * ms / all_ms:5.1f}% {cnt[name]:6d}x  {name[:90]}")
PY
fi
finish

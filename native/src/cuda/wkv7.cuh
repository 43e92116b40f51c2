// The RWKV-7 WKV recurrence on the GPU; same ABI as cpu/wkv7.h (ŵ log-log decay, a = −κ̂, b = κ̂·α,
// [B,T,H·N] rows, [B,H,N,N] states in [value][key] order). One block per (sequence, head), four
// threads per value row i, each holding a quarter of S[i][·] in registers; fp32 throughout. N must be 64.
#pragma once
#include <cuda_runtime.h>

#include "core/wkv.h"

namespace rwkv::cuda {

constexpr int kWkvN = 64;
// The forward checkpoints the state every kWkv7Chunk steps; the backward recomputes inside a chunk.
constexpr int kWkv7Chunk = 16;

inline int wkv7_chunks(int T) { return (T + kWkv7Chunk - 1) / kWkv7Chunk; }
// Floats of the state checkpoints the training forward writes: [B,H,chunks,N,N].
inline size_t wkv7_checkpoint_floats(int B, int H, int T) { return size_t(B) * H * wkv7_chunks(T) * kWkvN * kWkvN; }
// Floats of the backward's scratch for the recomputed states of one chunk: [B,H,chunk+1,N,N].
inline size_t wkv7_scratch_floats(int B, int H) { return size_t(B) * H * (kWkv7Chunk + 1) * kWkvN * kWkvN; }

// state: initial state in, final state out. checkpoints (may be null): the state before every
// kWkv7Chunk-step chunk, for wkv7_backward.
void wkv7_forward(int B, int T, int H, const Wkv7In& in, float* state, float* y, float* checkpoints, cudaStream_t s);

// Input gradients of Σ y·dy (all overwritten) and ds0 [B,H,N,N] (overwritten), from the forward's
// checkpoints. No gradient flows in from the final state (state tuning discards it).
void wkv7_backward(int B, int T, int H, const Wkv7In& in, const float* checkpoints, const float* dy,
                   const Wkv7Grad& grad, float* ds0, float* scratch, cudaStream_t s);

}  // namespace rwkv::cuda

// The RWKV-6 WKV operator on the GPU; same contract as cpu/wkv6.h (w = decay values, u [H,N] bonus,
// [value][key] states, checkpoints every Wkv6Shape::kChunk steps). One block per (sequence, head),
// one thread per value row; N must be 64. Device pointers throughout.
#pragma once
#include <cuda_runtime.h>

#include "core/wkv.h"

namespace rwkv::cuda {

// Floats of wkv6_backward's scratch: the recomputed states of one chunk, [B,H,kChunk,N,N].
inline size_t wkv6_scratch_floats(const Wkv6Shape& s) { return size_t(s.B) * s.H * Wkv6Shape::kChunk * s.N * s.N; }

void wkv6_forward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w, const float* u,
                  float* state, float* y, float* checkpoints, cudaStream_t st);

// dstate: ∂L/∂S_T in, ∂L/∂s0 out. dr/dk/dv/dw overwritten; du [H,N] (may be null) is overwritten
// with the batch sum.
void wkv6_backward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w, const float* u,
                   const float* checkpoints, const float* dy, float* dstate, float* dr, float* dk, float* dv, float* dw,
                   float* du, float* scratch, cudaStream_t st);

}  // namespace rwkv::cuda

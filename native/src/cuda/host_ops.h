// Host-memory entry points to single CUDA ops (upload, run, download), so tests can compare each op
// with its CPU twin on the same inputs. Callable from plain C++; every pointer is host memory.
#pragma once
#include <cstdint>

#include "core/wkv.h"
#include "cuda/backend.h"

namespace rwkv::cuda {

// Same contracts as cpu/wkv7.h (H·N = C rows, N = 64), without dsT in the backward.
void wkv7_forward_host(int B, int T, int H, const Wkv7In& in, float* state, float* y);
void wkv7_backward_host(int B, int T, int H, const Wkv7In& in, const float* s0, const float* dy, const Wkv7Grad& g,
                        float* ds0);
// cpu/wkv6.h, except that the backward recomputes its checkpoints from s0.
void wkv6_forward_host(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                       const float* u, float* state, float* y);
void wkv6_backward_host(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                        const float* u, const float* s0, const float* dy, float* dstate, float* dr, float* dk,
                        float* dv, float* dw, float* du);
// C[M,N] = A[M,K]·op(W) with W bf16 bits ([N,K] when trans_b, else [K,N]), optionally quantised first.
void matmul_host(int M, int N, int K, const float* A, const uint16_t* W, bool trans_b, float* C, Quant q);

}  // namespace rwkv::cuda

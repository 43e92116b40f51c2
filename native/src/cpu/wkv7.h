// The RWKV-7 WKV recurrence ("generalised delta rule") on the CPU, per head with state S [value][key]:
//   sa = S·a;  S ← S·diag(exp(−exp(ŵ))) + sa·bᵀ + v·kᵀ;  y = S·r   (readout after the update)
// Variants (cpu/wkv_impl.h): the plain sequential loop in wkv7.cc is the reference every faster one
// (the per-SIMD-path sequential and chunked kernels of wkv_kernels.inc, and CUDA) is checked against.
// ABI: the decay input is ŵ (log-log decay, ŵ = −softplus(−z) − 0.5), a = −κ̂, b = κ̂·α, k = the
// modified write key (docs/spec.md §1.3 steps 5–8, §3.3). Tensors are [B, T, H·N] rows (channel h·N + i), states
// [B, H, N, N]. Work is spread over the B·H (sequence, head) pairs (the sequential forward also
// over slabs of value channels).
#pragma once
#include <cstddef>

#include "core/wkv.h"
#include "cpu/wkv_impl.h"

namespace rwkv {

// The backward recomputes states from checkpoints every kWkv7Chunk steps, not stored for all T.
constexpr int kWkv7Chunk = 16;

// What a forward can keep for its backward, which otherwise runs a forward pass of its own: per
// (sequence, head) pair, the sa_t = S_{t−1}·a_t rows [T][N], then the state before every chunk
// [chunks][N][N] ([value][key]). Pair p's part starts at p · wkv7_saved_pair_floats(T, N).
inline size_t wkv7_saved_pair_floats(int T, int N) {
  return size_t(T) * N + (size_t(T) + kWkv7Chunk - 1) / kWkv7Chunk * N * N;
}
inline size_t wkv7_saved_floats(int B, int T, int H, int N) { return size_t(B) * H * wkv7_saved_pair_floats(T, N); }
// Pair p's part of a saved buffer (null without one), and within a pair's part where the checkpoints start.
template <typename F>
F* wkv7_saved_pair(F* saved, long p, int T, int N) {
  return saved ? saved + p * long(wkv7_saved_pair_floats(T, N)) : nullptr;
}
template <typename F>
F* wkv7_saved_checkpoints(F* pair_part, int T, int N) {
  return pair_part ? pair_part + long(T) * N : nullptr;
}

// state: in = initial state, out = final state. y [B, T, H·N]. saved: null, or wkv7_saved_floats()
// floats, written. impl picks the variant (Auto: the fastest for the call; a head size the SIMD
// kernels lack runs the reference).
void wkv7_forward(int B, int T, int H, int N, const Wkv7In& in, float* state, float* y, float* saved = nullptr,
                  WkvImpl impl = WkvImpl::Auto);

// Gradients of Σ y·dy (+ Σ S_T·dsT when dsT is non-null) w.r.t. every input (overwritten) and
// the initial state s0 → ds0 [B, H, N, N]. saved: what wkv7_forward wrote for the same inputs and
// s0, or null: the fast variants then run a forward pass of their own first (the reference needs
// none and ignores it).
void wkv7_backward(int B, int T, int H, int N, const Wkv7In& in, const float* s0, const float* dy,
                   const float* dsT, const Wkv7Grad& grad, float* ds0, const float* saved = nullptr,
                   WkvImpl impl = WkvImpl::Auto);

}  // namespace rwkv

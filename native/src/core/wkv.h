// Operand layouts of the WKV operators, shared by the CPU (cpu/wkv7.h, cpu/wkv6.h) and CUDA
// (cuda/wkv7.cuh, cuda/wkv6.cuh) kernels. Rows are [B, T, H·N] (channel h·N + i); states are
// [B, H, N, N] in [head][value][key] order (docs/spec.md §0.3).
#pragma once
#include <cstddef>

namespace rwkv {

// RWKV-7: r, decay input ŵ (decay exp(−exp(ŵ))), write key k, value v, a = −κ̂, b = κ̂·α.
struct Wkv7In { const float *r, *w, *k, *v, *a, *b; };
struct Wkv7Grad { float *dr, *dw, *dk, *dv, *da, *db; };

// RWKV-6 call shape. Both backends checkpoint the state every kChunk steps in the forward so the
// backward can recompute S_{t−1} inside a chunk (v6 decays can be ~0, so stepping the state
// backwards is not an option).
struct Wkv6Shape {
  int B = 1, T = 0, H = 0, N = 64;
  int C() const { return H * N; }
  static constexpr int kChunk = 16;
  int chunks() const { return (T + kChunk - 1) / kChunk; }
  // Floats needed for the checkpoints: [B,H,chunks,N,N].
  size_t checkpoint_floats() const { return size_t(B) * H * chunks() * N * N; }
};

}  // namespace rwkv

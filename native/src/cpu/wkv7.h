// The RWKV-7 WKV recurrence ("generalised delta rule") on the CPU, per head with state S [value][key]:
//   sa = S·a;  S ← S·diag(exp(−exp(ŵ))) + sa·bᵀ + v·kᵀ;  y = S·r   (readout after the update)
// This sequential loop is the reference every faster variant (CUDA) is checked against.
// ABI: the decay input is ŵ (log-log decay, ŵ = −softplus(−z) − 0.5), a = −κ̂, b = κ̂·α, k = the
// modified write key (docs/spec.md §1.3 steps 5–8, §3.3). Tensors are [B, T, H·N] rows (channel h·N + i), states
// [B, H, N, N]. Work is spread over the B·H (sequence, head) pairs.
#pragma once
#include "core/wkv.h"

namespace rwkv {

// state: in = initial state, out = final state. y [B, T, H·N].
void wkv7_forward(int B, int T, int H, int N, const Wkv7In& in, float* state, float* y);

// Gradients of Σ y·dy (+ Σ S_T·dsT when dsT is non-null) w.r.t. every input (overwritten) and
// the initial state s0 → ds0 [B, H, N, N]. States are recomputed from checkpoints every
// kWkv7Chunk steps, not stored for all T.
constexpr int kWkv7Chunk = 16;
void wkv7_backward(int B, int T, int H, int N, const Wkv7In& in, const float* s0, const float* dy,
                   const float* dsT, const Wkv7Grad& grad, float* ds0);

}  // namespace rwkv

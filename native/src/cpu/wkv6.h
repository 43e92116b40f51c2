// RWKV-6 WKV operator (docs/spec.md §2.2 step 5, backward §3.4), fp32, sequential over time and
// parallel over (batch, head). Per head, state S[i][j] is [value i][key j]:
//   y_t[i] = Σ_j r_t[j]·(S[i][j] + u[j]·k_t[j]·v_t[i])      (S before the update)
//   S[i][j] ← S[i][j]·w_t[j] + v_t[i]·k_t[j]
// w is the decay *value* (exp(−exp(ŵ))); callers apply the ŵ chain rule themselves
// (dŵ = dw·w·(−exp(ŵ))), which keeps precision where exp(ŵ) is tiny.
// Variants (cpu/wkv_impl.h): the loops in wkv6.cc are the reference; the per-SIMD-path sequential
// and chunked kernels (wkv_kernels.inc) are tested against them. Any forward variant's checkpoints
// serve any backward variant.
#pragma once
#include "core/wkv.h"

#include "cpu/wkv_impl.h"

namespace rwkv {

// r, k, v, w, y: [B,T,C] contiguous; u: [H,N]; state: [B,H,N,N], s0 in, S_T out.
// checkpoints: null, or checkpoint_floats() floats receiving the state before each chunk.
// Throws RwkvError when N is not a multiple of 8 (the vector width).
void wkv6_forward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                  const float* u, float* state, float* y, float* checkpoints, WkvImpl impl = WkvImpl::Auto);

// Gradients of the forward above. dy: [B,T,C]. dstate: [B,H,N,N], on entry ∂L/∂S_T (or all
// zeros), on exit ∂L/∂s0 per batch element. checkpoints: as written by wkv6_forward on the same
// inputs. dr, dk, dv, dw: [B,T,C] (dw w.r.t. the decay value); du: [H,N] summed over the batch,
// or null when u is frozen. Any of dr/dk/dv/dw may be null when not needed. The chunked variant
// derives dw from ∂L/∂ln w, so its absolute error in dw grows like 1/w (dw·w stays precise).
void wkv6_backward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                   const float* u, const float* checkpoints, const float* dy, float* dstate, float* dr,
                   float* dk, float* dv, float* dw, float* du, WkvImpl impl = WkvImpl::Auto);

}  // namespace rwkv

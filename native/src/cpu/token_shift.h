// Token shift, the part of every RWKV layer that looks one token back (docs/spec.md §1.3 step 1, §2.2):
// over B sequences of T rows, d[b,t] = prev[b,t] − x[b,t] with prev[b,t] = x[b,t−1], and at t = 0
// the carried shift state prev0[b] (the previous chunk's last row; zeros when a sample starts).
// Mixes x + d⊙μ feed the projections. The passes over rows run on the SIMD path in use
// (token_shift.inc); shift_mix_from fuses the shift into the mix where the delta is not kept.
#pragma once

namespace rwkv {

// The input side of a time or channel mix: xn = LayerNorm(x; ln_w, ln_b), d = token shift of xn
// from the carried state `shift` [B,C], then shift ← the last row of xn of each sequence.
void norm_shift(int B, int T, int C, const float* x, const float* ln_w, const float* ln_b, float* shift, float* xn,
                float* d);
// Its backward: dxn (∂L/∂xn so far) and dd (∂L/∂d) → dx += ∂L/∂x; dshift is ∂L/∂(final shift)
// on entry and ∂L/∂(initial shift) on return. dxn is used as scratch.
void norm_shift_backward(int B, int T, int C, const float* x, const float* ln_w, float* dxn, const float* dd,
                         float* dshift, float* dx);

// d = prev − x. prev0 [B,C].
void token_shift(int B, int T, int C, const float* x, const float* prev0, float* d);
// out[b] = x[b, T−1]: the shift state the next chunk starts from.
void last_rows(int B, int T, int C, const float* x, float* out);
// out = x + (prev − x)⊙μ, prev as in token_shift: token_shift then shift_mix, without d in memory.
void shift_mix_from(int B, int T, int C, const float* x, const float* prev0, const float* mu, float* out);
// out = x + d⊙μ over M rows (μ [C], one coefficient per channel).
void shift_mix(long M, int C, const float* x, const float* d, const float* mu, float* out);

// Backward of shift_mix, accumulating: dx += dout, dd += dout⊙μ.
void shift_mix_backward(long M, int C, const float* dout, const float* mu, float* dx, float* dd);
// Backward of token_shift from dd = ∂L/∂d: dx[b,t] += dd[b,t+1] − dd[b,t] (t+1 in the same
// sequence); dprev0[b] = dd[b,0] (overwritten; null = not wanted).
void token_shift_backward(int B, int T, int C, const float* dd, float* dx, float* dprev0);
// dx[b, T−1] += g[b]: the gradient arriving at a final shift state (last_rows' backward).
void add_last_rows(int B, int T, int C, const float* g, float* dx);

}  // namespace rwkv

// The fused element-wise steps of an RWKV-7 layer on the GPU, forward and backward (docs/spec.md §1.3,
// §3.4); the token-shift, activation and batch helpers serve RWKV-6 (rwkv6.cu) too. Rows are tokens: M = B·T rows of C channels, sequences of T consecutive rows; heads are
// N = 64 channels. Every pointer is device memory.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/weight.cuh"

namespace rwkv::cuda {

constexpr int kMaxMix = 6;
// Mix q uses the coefficient mu[q][c] + m[q][row, c]; m[q] is null for static mixes and a
// per-row [M,C] term for RWKV-6's data-dependent ones.
struct Mixes { const float* mu[kMaxMix]; const float* m[kMaxMix]; float* out[kMaxMix]; int n; };
struct MixGrads { const float* mu[kMaxMix]; const float* m[kMaxMix]; const float* d[kMaxMix]; int n; };

// x [M,C] = LN0 input: bf16 embedding rows of the tokens.
void embed(int M, int C, const int32_t* tokens, const __nv_bfloat16* emb, float* x, cudaStream_t s);

// Token shift: out_μ = x + (prev − x)·μ with prev = the row before in the same sequence, or
// prev0 [C] (null = zeros) at a sequence start.
void shift_mix(int M, int T, int C, const float* x, const float* prev0, const Mixes& mix, cudaStream_t s);
// Its backward: dx (overwritten) = Σ_μ d_μ(t)·(1−μ(t)) + d_μ(t+1)·μ(t+1) (t+1 in the same sequence).
void shift_mix_backward(int M, int T, int C, const MixGrads& g, float* dx, cudaStream_t s);
// out_q = d_q·(prev − x): the gradient of a data-dependent term m_q (same prev as shift_mix).
void shift_delta_product(int M, int T, int C, const float* x, const float* prev0, int n, const float* const* d,
                         float* const* out, cudaStream_t s);

// Per-layer vectors and buffers of the time-mix preparation (one warp per (row, head)).
struct TmVectors { const float *w0, *a0, *v0, *k_k, *k_a, *r_k; };
struct TmActs {
  float *r, *k, *v;      // projections (v: before the value residual)
  float *z, *za, *zv;    // LoRA outputs; on return z += w0, za += a0, zv += v0
  float *what, *alpha, *vg, *vv, *kn, *knorm, *kw, *aop, *bop;  // knorm [M,H]
  const float* vfirst;   // null on layer 0 (no value residual)
};
void tm_prepare(int M, int H, const TmVectors& p, const TmActs& a, cudaStream_t s);

// ŷ = GroupNorm(y) in yo on entry; yo += β·vv with β = Σ r·kw·r_k per head (beta [M,H]); gy = yo·g.
void bonus_gate(int M, int H, const TmVectors& p, const TmActs& a, float* yo, const float* g, float* beta, float* gy,
                cudaStream_t s);
// Backward of bonus_gate from dgy: dyo (= ∂/∂ŷ), dg, and the bonus' parts of dr, dkw, dvv (overwritten).
void bonus_gate_backward(int M, int H, const TmVectors& p, const TmActs& a, const float* yo, const float* g,
                         const float* beta, const float* dgy, float* dyo, float* dg, float* dr, float* dkw, float* dvv,
                         cudaStream_t s);

// Gradients flowing into tm_prepare's outputs: the wkv op's (dr_w, dw, dk_w, dv_w, da, db) plus the
// bonus parts already in dr/dkw/dvv. On return dr, dk, dv hold the projection gradients, dz/dza/dzv
// the LoRA-output gradients. dvfirst: layers ≥ 1 add their value-residual share to it; layer 0
// (a.vfirst null) reads the total and adds it to dv.
struct TmGrads {
  float *dr, *dkw, *dvv;              // in: bonus parts; out: dr total, dk (in dkw), dv (in dvv)
  const float *dr_w, *dk_w, *dv_w, *dwhat, *da, *db;
  float *dz, *dza, *dzv, *dvfirst;    // dzv unused on layer 0
};
void tm_prepare_backward(int M, int H, const TmVectors& p, const TmActs& a, const TmGrads& g, cudaStream_t s);

// y = f(x) element-wise and its backward dx = dy·f'(·) in place on dy, for the LoRA/FFN activations.
enum class Act { Tanh, Sigmoid, ReluSquare, Silu, DecayExp };  // DecayExp: w = exp(−exp(x))
void activate(long n, Act f, const float* x, float* y, cudaStream_t s);
// For Tanh and Sigmoid `saved` is the activation's output, for ReluSquare, Silu and DecayExp its
// input (DecayExp from ŵ itself: w·ln w would lose the tiny exp(ŵ) where w rounds to 1).
void activate_backward(long n, Act f, const float* saved, float* dy, cudaStream_t s);

// out = a·b, or out += a·b with mul_add (n elements).
void multiply(long n, const float* a, const float* b, float* out, cudaStream_t s);
void mul_add(long n, const float* a, const float* b, float* out, cudaStream_t s);
// y [M,C] += v [C] on every row.
void add_row_vector(int M, int C, const float* v, float* y, cudaStream_t s);

// out [R,n] += Σ over B groups of in [B,R,n] (the batch sum of ds0 per layer); out overwritten.
void sum_batches(int B, long n, const float* in, float* out, cudaStream_t s);
// dst[b] = src for b < B (broadcast one [n] state to B sequences).
void broadcast(int B, long n, const float* src, float* dst, cudaStream_t s);

}  // namespace rwkv::cuda

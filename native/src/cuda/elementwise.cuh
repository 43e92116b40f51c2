// Element-wise and row-wise steps both RWKV versions' CUDA layers use, forward and backward: the
// embedding rows' widening, token shift (static and data-dependent mixes), activations, products, and the
// batch broadcast/sum of states. Rows are tokens: M = B·T rows of C channels, sequences of T
// consecutive rows. Every pointer is device memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace rwkv::cuda {

constexpr int kMaxMix = 6;
// Mix q uses the coefficient mu[q][c] + m[q][row, c]; m[q] is null for static mixes and a
// per-row [M,C] term for RWKV-6's data-dependent ones.
struct Mixes { const float* mu[kMaxMix]; const float* m[kMaxMix]; float* out[kMaxMix]; int n; };
struct MixGrads { const float* mu[kMaxMix]; const float* m[kMaxMix]; const float* d[kMaxMix]; int n; };

// x [n] = src [n] widened to fp32 (the embedding rows of a call, gathered on the host).
void widen_bf16(long n, const __nv_bfloat16* src, float* x, cudaStream_t s);

// Token shift: out_μ = x + (prev − x)·μ with prev = the row before in the same sequence, or
// prev0 [C] (null = zeros) at a sequence start.
void shift_mix(int M, int T, int C, const float* x, const float* prev0, const Mixes& mix, cudaStream_t s);
// Its backward: dx (overwritten) = Σ_μ d_μ(t)·(1−μ(t)) + d_μ(t+1)·μ(t+1) (t+1 in the same sequence).
void shift_mix_backward(int M, int T, int C, const MixGrads& g, float* dx, cudaStream_t s);
// out_q = d_q·(prev − x): the gradient of a data-dependent term m_q (same prev as shift_mix).
void shift_delta_product(int M, int T, int C, const float* x, const float* prev0, int n, const float* const* d,
                         float* const* out, cudaStream_t s);

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

// The fused element-wise steps of an RWKV-7 layer on the GPU, forward and backward (docs/spec.md §1.3,
// §3.4): the time-mix preparation (decay, ICLR, value residual, removal and write keys) and the bonus
// and gate. One warp per (row, head); heads are N = 64 channels. Every pointer is device memory.
#pragma once
#include <cuda_runtime.h>

namespace rwkv::cuda {

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

}  // namespace rwkv::cuda

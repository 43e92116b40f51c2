// A frozen 2-D weight as the checkpoint stores it ([rows, cols] row-major; f32, bf16 or f16 kept
// as stored) and the product of fp32 activations with it.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "core/tensor.h"
#include "cpu/gemm.h"

namespace rwkv {

struct Mat {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int rows = 0, cols = 0;
  // Rows [r0, r0 + n) as a matrix of their own.
  // N and K of a product with it: trans (A·Wᵀ, W an nn.Linear [out, in]) or not (A·W, W [in, out]).
  int n_of(bool trans) const { return trans ? rows : cols; }
  int k_of(bool trans) const { return trans ? cols : rows; }
  Mat rows_slice(int r0, int n) const {
    return {static_cast<const char*>(data) + size_t(r0) * cols * dtype_size(dtype), dtype, n, cols};
  }
};

// Prefetches (into L2) part `part` of `parts` equal parts of W's rows [r0, r0 + n): a hint that
// lets a thread stream weights it will need soon while it works on something else.
inline void prefetch_rows(const Mat& W, int r0, int n, int part, int parts) {
  const char* p = static_cast<const char*>(W.rows_slice(r0, n).data);
  const long bytes = long(n) * W.cols * long(dtype_size(W.dtype));
  for (long o = bytes * part / parts, end = bytes * (part + 1) / parts; o < end; o += 64)
    __builtin_prefetch(p + o, 0, 2);
}

// C[M,·] = A·Wᵀ (trans: W is [N, K], an nn.Linear [out, in]) or A·W (W is [K, N], a LoRA [in, out]),
// plus beta·C (beta 0 or 1). lda/ldc are the row strides of A and C. Backward passes use the other
// orientation of the same weight.
inline void mul(int M, const float* A, int lda, const Mat& W, bool trans, float* C, int ldc, float beta,
                Precision prec) {
  matmul(M, W.n_of(trans), W.k_of(trans), A, lda, W.data, W.dtype, W.cols, trans, C, ldc, beta, prec);
}

// One product of mul_batch: C = A·op(W) (+ C when beta is 1), A and C whole rows of their widths.
struct MulJob {
  const float* A;
  const Mat* W;
  bool trans;
  float* C;
  float beta = 0.f;
};
// Independent products with the same M, as mul would compute them (gemm.h's matmul_batch): on the
// GEMV path (a few rows: RNN mode) in one parallel region.
inline void mul_batch(int M, std::initializer_list<MulJob> jobs, Precision prec) {
  std::vector<MatmulJob> js;
  for (const MulJob& j : jobs) {
    if (!j.W) continue;  // an absent product (e.g. layer 0's value LoRA)
    const Mat& W = *j.W;
    const int N = W.n_of(j.trans), K = W.k_of(j.trans);
    js.push_back({N, K, j.A, K, W.data, W.dtype, W.cols, j.trans, j.C, N, j.beta});
  }
  matmul_batch(M, js.data(), int(js.size()), prec);
}

}  // namespace rwkv

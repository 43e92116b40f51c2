// A frozen 2-D weight as the checkpoint stores it ([rows, cols] row-major; f32, bf16 or f16 kept
// as stored) and the product of fp32 activations with it.
#pragma once
#include <cstddef>
#include <initializer_list>

#include "core/tensor.h"
#include "cpu/gemm.h"

namespace rwkv {

struct Mat {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int rows = 0, cols = 0;
  // Rows [r0, r0 + n) as a matrix of their own.
  Mat rows_slice(int r0, int n) const {
    return {static_cast<const char*>(data) + size_t(r0) * cols * dtype_size(dtype), dtype, n, cols};
  }
};

// C[M,·] = A·Wᵀ (trans: W is [N, K], an nn.Linear [out, in]) or A·W (W is [K, N], a LoRA [in, out]),
// plus beta·C (beta 0 or 1). lda/ldc are the row strides of A and C. Backward passes use the other
// orientation of the same weight.
inline void mul(int M, const float* A, int lda, const Mat& W, bool trans, float* C, int ldc, float beta,
                Precision prec) {
  const int N = trans ? W.rows : W.cols, K = trans ? W.cols : W.rows;
  matmul(M, N, K, A, lda, W.data, W.dtype, W.cols, trans, C, ldc, beta, prec);
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
  MatmulJob js[16];
  int n = 0;
  for (const MulJob& j : jobs) {
    if (!j.W) continue;  // an absent product (e.g. layer 0's value LoRA)
    const Mat& W = *j.W;
    const int N = j.trans ? W.rows : W.cols, K = j.trans ? W.cols : W.rows;
    js[n++] = {N, K, j.A, K, W.data, W.dtype, W.cols, j.trans, j.C, N, j.beta};
  }
  matmul_batch(M, js, n, prec);
}

}  // namespace rwkv

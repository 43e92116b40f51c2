// A frozen 2-D weight as the checkpoint stores it ([rows, cols] row-major; f32, bf16 or f16 kept
// as stored) and the product of fp32 activations with it.
#pragma once
#include <cstddef>

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

}  // namespace rwkv

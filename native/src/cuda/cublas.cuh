// The one cuBLAS call the GEMMs use (cublas.h says how the library is found).
#pragma once
#include "cuda/common.cuh"
#include "cuda/cublas.h"

namespace rwkv::cuda {

// C[M,N] (fp32, row stride ldc) = A[M,K] (bf16, row stride lda) · op(W) + beta·C, where W is bf16 with
// row stride ldw, stored [N,K] when trans_b and [K,N] otherwise, with fp32 accumulation. Returns false
// (and does nothing) where cuBLAS is not loaded; throws RwkvError when cuBLAS reports a failure.
bool cublas_gemm(int M, int N, int K, const __nv_bfloat16* A, int lda, const __nv_bfloat16* W, int ldw, bool trans_b,
                 float* C, int ldc, float beta, cudaStream_t s);

}  // namespace rwkv::cuda

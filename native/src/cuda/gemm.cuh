// GEMMs of the CUDA backend: fp32 activations times a frozen weight, bf16 tensor cores with fp32
// accumulation. Where cuBLAS is loaded (cublas.h) the activations are rounded to bf16 and nf4/int8
// weights dequantised to bf16 for the call, then cuBLAS multiplies; elsewhere our WMMA kernel
// (16×16×16) does, dequantising while it loads its tile. Both multiply the same bf16 values. Up to 8
// rows (RNN mode) go through an fp32 GEMV that reads each weight once.
#pragma once
#include "cuda/device_weight.cuh"

namespace rwkv::cuda {

// C[M,N] = A[M,K] · op(W) + beta·C, op(W) = Wᵀ when trans_b (W stored [N,K], an nn.Linear weight)
// and W otherwise (W stored [K,N]). Same contract as the CPU rwkv::matmul; beta is 0 or 1.
// impl Own skips cuBLAS (benchmarks compare the two).
enum class GemmImpl { Auto, Own };
void gemm(int M, int N, int K, const float* A, int lda, const DeviceWeight& W, bool trans_b, float* C,
          int ldc, float beta, cudaStream_t stream, GemmImpl impl = GemmImpl::Auto);

// out [M,K] (contiguous) = A [M,K] (row stride lda) rounded to bf16.
void to_bf16_rows(int M, int K, const float* A, int lda, __nv_bfloat16* out, cudaStream_t stream);

// Whole-weight convenience: N and K come from the weight's shape.
inline void gemm(int M, const float* A, const DeviceWeight& W, bool trans_b, float* C, float beta,
                 cudaStream_t stream) {
  const int N = trans_b ? W.rows : W.cols, K = trans_b ? W.cols : W.rows;
  gemm(M, N, K, A, K, W, trans_b, C, N, beta, stream);
}

}  // namespace rwkv::cuda

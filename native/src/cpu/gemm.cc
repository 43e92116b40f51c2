#include "cpu/gemm.h"

#include "cpu/threadpool.h"

namespace rwkv {
namespace {

inline float load(const void* B, DType t, long i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(B)[i];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(B)[i]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(B)[i]);
  }
  return 0.f;
}

void rows(int m0, int m1, int N, int K, const float* A, int lda, const void* B, DType bt, int ldb,
          bool trans_b, float* C, int ldc, float beta) {
  for (int m = m0; m < m1; ++m) {
    float* c = C + long(m) * ldc;
    const float* a = A + long(m) * lda;
    for (int n = 0; n < N; ++n) {
      float s = 0.f;
      if (trans_b) for (int k = 0; k < K; ++k) s += a[k] * load(B, bt, long(n) * ldb + k);
      else for (int k = 0; k < K; ++k) s += a[k] * load(B, bt, long(k) * ldb + n);
      c[n] = beta == 0.f ? s : c[n] * beta + s;
    }
  }
}

}  // namespace

void matmul_reference(int M, int N, int K, const float* A, int lda, const void* B, DType bt, int ldb,
                      bool trans_b, float* C, int ldc, float beta) {
  rows(0, M, N, K, A, lda, B, bt, ldb, trans_b, C, ldc, beta);
}

// Placeholder fast path: the reference loop split over threads by rows.
void matmul(int M, int N, int K, const float* A, int lda, const void* B, DType bt, int ldb,
            bool trans_b, float* C, int ldc, float beta) {
  parallel_for(M, [&](long m0, long m1) { rows(int(m0), int(m1), N, K, A, lda, B, bt, ldb, trans_b, C, ldc, beta); });
}

}  // namespace rwkv

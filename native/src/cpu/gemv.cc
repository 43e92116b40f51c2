// Matrix products with a few rows of A (RNN / generation mode): memory-bound, so B is streamed
// exactly once in its stored dtype (bf16 weights move half the bytes), threads split N, and the
// few A rows are re-read from L1 for every block of B.
#include <algorithm>
#include <type_traits>

#include "cpu/gemm_kernels.h"
#include "cpu/threadpool.h"

namespace rwkv::gemm {
namespace {

inline void put(float* c, float v, float beta) { *c = beta == 0.f ? v : *c + v; }

// Scalar edge: C[m, n] for all m < M, one column n.
template <DType T>
void column_scalar(int M, int n, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta) {
  for (int m = 0; m < M; ++m) {
    float s = 0.f;
    for (int k = 0; k < K; ++k)
      s += A[m * lda + k] * load1<T>(B.data, B.trans ? long(n) * B.ld + k : long(k) * B.ld + n);
    put(C + m * ldc + n, s, beta);
  }
}

#ifdef RWKV_GEMM_AVX2
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// B stored [N,K] (nn.Linear): MG rows of A against 4 rows of B, dot products along K.
template <DType T, int MG>
void dot4(const float* A, long lda, int K, const void* B, long ldb, int n, float* C, long ldc, float beta) {
  __m256 acc[MG][4];
  for (int m = 0; m < MG; ++m) for (int j = 0; j < 4; ++j) acc[m][j] = _mm256_setzero_ps();
  const long r0 = long(n) * ldb;
  int k = 0;
  constexpr int line = 64 / int(sizeof(std::conditional_t<T == DType::F32, float, uint16_t>));  // elements
  for (; k + 8 <= K; k += 8) {
    // Rows are short streams (1.5 KB for a bf16 row of 768) that the hardware prefetcher barely
    // ramps up on: fetch the block of 4 rows after the next one while this one is summed.
    if ((k & (line - 1)) == 0)
      for (int j = 8; j < 12; ++j)
        _mm_prefetch(static_cast<const char*>(B) + (r0 + j * ldb + k) * long(dtype_size(T)), _MM_HINT_T0);
    for (int j = 0; j < 4; ++j) {
      const __m256 b = load8<T>(B, r0 + j * ldb + k);
      for (int m = 0; m < MG; ++m) acc[m][j] = _mm256_fmadd_ps(_mm256_loadu_ps(A + m * lda + k), b, acc[m][j]);
    }
  }
  for (int m = 0; m < MG; ++m)
    for (int j = 0; j < 4; ++j) {
      float s = hsum(acc[m][j]);
      for (int kk = k; kk < K; ++kk) s += A[m * lda + kk] * load1<T>(B, r0 + j * ldb + kk);
      put(C + m * ldc + n + j, s, beta);
    }
}

template <DType T>
void gemv_trans(int M, int n0, int n1, int K, const float* A, long lda, const BOperand& B, float* C, long ldc,
                float beta) {
  int n = n0;
  for (; n + 4 <= n1; n += 4) {
    int m = 0;  // groups of 3 rows keep 12 accumulators + operands within 16 registers
    for (; m + 3 <= M; m += 3) dot4<T, 3>(A + m * lda, lda, K, B.data, B.ld, n, C + m * ldc, ldc, beta);
    if (M - m == 2) dot4<T, 2>(A + m * lda, lda, K, B.data, B.ld, n, C + m * ldc, ldc, beta);
    if (M - m == 1) dot4<T, 1>(A + m * lda, lda, K, B.data, B.ld, n, C + m * ldc, ldc, beta);
  }
  for (; n < n1; ++n) column_scalar<T>(M, n, K, A, lda, B, C, ldc, beta);
}

// B stored [K,N] (LoRA [in,out]): MG rows of A times a 32-column strip of B, axpy along K.
template <DType T, int MG>
void strip32(const float* A, long lda, int K, const void* B, long ldb, int n, float* C, long ldc, float beta) {
  __m256 acc[MG][4];
  for (int m = 0; m < MG; ++m) for (int j = 0; j < 4; ++j) acc[m][j] = _mm256_setzero_ps();
  for (int k = 0; k < K; ++k) {
    const long r = long(k) * ldb + n;
    const __m256 b0 = load8<T>(B, r), b1 = load8<T>(B, r + 8), b2 = load8<T>(B, r + 16), b3 = load8<T>(B, r + 24);
    for (int m = 0; m < MG; ++m) {
      const __m256 a = _mm256_broadcast_ss(A + m * lda + k);
      acc[m][0] = _mm256_fmadd_ps(a, b0, acc[m][0]);
      acc[m][1] = _mm256_fmadd_ps(a, b1, acc[m][1]);
      acc[m][2] = _mm256_fmadd_ps(a, b2, acc[m][2]);
      acc[m][3] = _mm256_fmadd_ps(a, b3, acc[m][3]);
    }
  }
  for (int m = 0; m < MG; ++m)
    for (int j = 0; j < 4; ++j) {
      float* c = C + m * ldc + n + 8 * j;
      _mm256_storeu_ps(c, beta == 0.f ? acc[m][j] : _mm256_add_ps(acc[m][j], _mm256_loadu_ps(c)));
    }
}

template <DType T>
void gemv_notrans(int M, int n0, int n1, int K, const float* A, long lda, const BOperand& B, float* C, long ldc,
                  float beta) {
  int n = n0;
  for (; n + 32 <= n1; n += 32) {
    int m = 0;
    for (; m + 2 <= M; m += 2) strip32<T, 2>(A + m * lda, lda, K, B.data, B.ld, n, C + m * ldc, ldc, beta);
    if (m < M) strip32<T, 1>(A + m * lda, lda, K, B.data, B.ld, n, C + m * ldc, ldc, beta);
  }
  for (; n < n1; ++n) column_scalar<T>(M, n, K, A, lda, B, C, ldc, beta);
}
#else
template <DType T>
void gemv_trans(int M, int n0, int n1, int K, const float* A, long lda, const BOperand& B, float* C, long ldc,
                float beta) {
  for (int n = n0; n < n1; ++n) column_scalar<T>(M, n, K, A, lda, B, C, ldc, beta);
}

// Portable: row-by-row axpy so B is still read in storage order.
template <DType T>
void gemv_notrans(int M, int n0, int n1, int K, const float* A, long lda, const BOperand& B, float* C, long ldc,
                  float beta) {
  for (int m = 0; m < M; ++m) {
    float* c = C + m * ldc;
    if (beta == 0.f) std::fill(c + n0, c + n1, 0.f);
    for (int k = 0; k < K; ++k) {
      const float a = A[m * lda + k];
      for (int n = n0; n < n1; ++n) c[n] += a * load1<T>(B.data, long(k) * B.ld + n);
    }
  }
}
#endif

}  // namespace

void gemv(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta) {
  // Threads take column blocks aligned to the kernels' widths; blocks of B under ~64 KB are not
  // worth waking another thread for.
  const long block = B.trans ? 4 : 32;
  const long units = (N + block - 1) / block;
  const long bytes_per_unit = block * K * long(dtype_size(B.type));
  const long grain = std::max<long>(1, (64 * 1024) / std::max<long>(1, bytes_per_unit));
  dispatch_dtype(B.type, [&](auto tag) {
    constexpr DType T = decltype(tag)::value;
    parallel_for(units, [&](long u0, long u1) {
      const int n0 = int(u0 * block), n1 = int(std::min<long>(N, u1 * block));
      if (B.trans) gemv_trans<T>(M, n0, n1, K, A, lda, B, C, ldc, beta);
      else gemv_notrans<T>(M, n0, n1, K, A, lda, B, C, ldc, beta);
    }, grain);
  });
}

}  // namespace rwkv::gemm

#include "cpu/gemm.h"

#include <vector>

#include "cpu/gemm_kernels.h"
#include "cpu/isa.h"
#include "cpu/profile.h"

namespace rwkv {

void matmul_reference(int M, int N, int K, const float* A, int lda, const void* B, DType bt, int ldb,
                      bool trans_b, float* C, int ldc, float beta) {
  gemm::dispatch_dtype(bt, [&](auto tag) {
    constexpr DType T = decltype(tag)::value;
    for (int m = 0; m < M; ++m) {
      float* c = C + long(m) * ldc;
      const float* a = A + long(m) * lda;
      for (int n = 0; n < N; ++n) {
        float s = 0.f;
        for (int k = 0; k < K; ++k) s += a[k] * gemm::load1<T>(B, trans_b ? long(n) * ldb + k : long(k) * ldb + n);
        c[n] = beta == 0.f ? s : c[n] * beta + s;
      }
    }
  });
}

bool bf16_compute_available() { return active_isa() == Isa::Avx512 && cpu_features().avx512_bf16; }

namespace {
// Whether a product with B of type bt runs the bf16 kernels under prec (see Precision).
bool bf16_kernels(Precision prec, DType bt) {
  return prec == Precision::BF16 && bt == DType::BF16 && bf16_compute_available();
}
}  // namespace

// Few rows: stream B once (memory-bound). Many rows: pack and block for the FMA units.
// (K = 0 goes the GEMV way too: it still has to write beta·C.)
void matmul(int M, int N, int K, const float* A, int lda, const void* B, DType bt, int ldb,
            bool trans_b, float* C, int ldc, float beta, Precision prec) {
  if (M <= 0 || N <= 0) return;
  RWKV_STAGE(Gemm);
  const gemm::BOperand b{B, bt, ldb, trans_b};
  const bool bf16 = bf16_kernels(prec, bt);
  if (M <= gemm::kGemvMaxRows || K == 0) gemm::gemv(M, N, K, A, lda, b, C, ldc, beta, bf16);
  else gemm::gemm_packed(M, N, K, A, lda, b, C, ldc, beta, bf16);
}

void matmul_batch(int M, const MatmulJob* jobs, int count, Precision prec) {
  if (M <= 0) return;
  if (M > gemm::kGemvMaxRows) {
    for (int i = 0; i < count; ++i) {
      const MatmulJob& j = jobs[i];
      matmul(M, j.N, j.K, j.A, j.lda, j.B, j.b_type, j.ldb, j.trans_b, j.C, j.ldc, j.beta, prec);
    }
    return;
  }
  RWKV_STAGE(Gemm);
  std::vector<gemm::GemvJob> g;
  for (int i = 0; i < count; ++i) {
    const MatmulJob& j = jobs[i];
    if (j.N <= 0) continue;
    g.push_back({j.N, j.K, j.A, j.lda, {j.B, j.b_type, j.ldb, j.trans_b}, j.C, j.ldc, j.beta,
                 bf16_kernels(prec, j.b_type)});
  }
  gemm::gemv_batch(M, g.data(), int(g.size()));
}

}  // namespace rwkv

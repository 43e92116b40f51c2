// Matrix products used by every layer. Activations are fp32; the B operand (a weight) may be
// fp32 or bf16 and is converted on the fly, so bf16 weights stay bf16 in memory.
#pragma once
#include "core/tensor.h"

namespace rwkv {

// Arithmetic of a product. F32: fp32 multiply-adds (bf16/f16 weights widened exactly). BF16 (opt-in
// bf16 compute): A is rounded to bf16 (nearest even) and bf16 pairs are multiplied into fp32 sums
// (vdpbf16ps) where bf16_compute_available() and B is bf16; elsewhere (f32/f16 B, no AVX512_BF16,
// the avx2/portable path forced) it computes as F32.
enum class Precision : int { F32 = 0, BF16 = 1 };

// True when Precision::BF16 takes the bf16 kernels: the avx512 path is active and the CPU has
// AVX512_BF16. (AMX-BF16 is not used: no development machine has it to test on.)
bool bf16_compute_available();

// C[M,N] = A[M,K] · op(B) + beta·C, with op(B) = Bᵀ when trans_b (B stored [N,K], i.e. an
// nn.Linear weight [out,in]) and op(B) = B otherwise (B stored [K,N], e.g. a LoRA matrix [in,out]).
// lda/ldb/ldc are row strides in elements. beta is 0 (overwrite) or 1 (accumulate).
// M ≤ 8 streams B once (GEMV, split over N); larger M packs panels for a register-blocked
// micro-kernel. Both run the SIMD path of active_isa() and use parallel_for; results do not depend
// on the thread count (they may differ between SIMD paths by rounding).
void matmul(int M, int N, int K, const float* A, int lda, const void* B, DType b_type, int ldb,
            bool trans_b, float* C, int ldc, float beta, Precision prec = Precision::F32);

// One product of a batch, with matmul's arguments (its M is the batch's).
struct MatmulJob {
  int N, K;
  const float* A;
  int lda;
  const void* B;
  DType b_type;
  int ldb;
  bool trans_b;
  float* C;
  int ldc;
  float beta;
};
// Independent products with the same M (no job reads what another writes), with matmul's results.
// Many rows run them one after another; the GEMV path (M ≤ 8) runs them in one parallel region,
// the threads streaming the matrices back to back (RNN mode: a layer's R, K and V, its LoRAs).
void matmul_batch(int M, const MatmulJob* jobs, int count, Precision prec = Precision::F32);

// Convenience for a whole 2-D weight view.
inline void matmul(int M, const float* A, const TensorView& W, bool trans_b, float* C, float beta,
                   Precision prec = Precision::F32) {
  const int rows = int(W.dim(0)), cols = int(W.dim(1));
  const int N = trans_b ? rows : cols, K = trans_b ? cols : rows;
  matmul(M, N, K, A, K, W.data, W.dtype, cols, trans_b, C, N, beta, prec);
}

// The plain triple loop, kept as the reference the fast path is tested against.
void matmul_reference(int M, int N, int K, const float* A, int lda, const void* B, DType b_type,
                      int ldb, bool trans_b, float* C, int ldc, float beta);

}  // namespace rwkv

// Matrix products with a few rows of A (RNN / generation mode): memory-bound, so B is streamed
// exactly once in its stored dtype (bf16 weights move half the bytes), threads split N, and the
// few A rows are re-read from L1 for every block of B. The kernels, per SIMD path, are in gemv.inc.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "cpu/gemm_kernels.h"
#include "cpu/threadpool.h"

#define RWKV_PER_ISA_FILE "cpu/gemv.inc"
#include "cpu/per_isa.h"

namespace rwkv::gemm {
namespace {

// A's M rows, each rearranged as its (K+1)/2 even-offset elements then its K/2 odd-offset ones, into
// a per-thread buffer [M, K] (for gemv.inc's dot4_bf16_split).
const float* split_rows(int M, int K, const float* A, long lda) {
  thread_local std::unique_ptr<float[]> buf;
  thread_local long size = 0;
  if (long(M) * K > size) buf.reset(new float[size = long(M) * K]);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) buf[m * long(K) + gemm::split_index(k, K)] = A[m * lda + k];
  return buf.get();
}

}  // namespace

void gemv(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta,
          bool bf16) {
  // Threads take column blocks aligned to the kernels' widths; blocks of B under ~64 KB are not
  // worth waking another thread for.
  const long block = RWKV_PER_ISA(unit_cols)(B.trans);
  const long units = (N + block - 1) / block;
  const long bytes_per_unit = block * K * long(dtype_size(B.type));
  const long grain = std::max<long>(1, (64 * 1024) / std::max<long>(1, bytes_per_unit));
  const auto cols = [&](long u0, long u1) { return std::pair<int, int>(u0 * block, std::min<long>(N, u1 * block)); };
#ifdef RWKV_X86
  // bf16 compute: A's rows rounded to bf16 once, then bf16 dot products against B as stored.
  if (bf16 && K > 0) {
    const long ld = (K + 31) / 32 * 32;
    thread_local std::unique_ptr<uint16_t[]> abuf;
    thread_local long abuf_size = 0;
    if (M * ld > abuf_size) abuf.reset(new uint16_t[abuf_size = M * ld]);
    avx512::round_rows_bf16(M, K, A, lda, abuf.get(), ld);
    const uint16_t* a = abuf.get();
    parallel_for(units, [&](long u0, long u1) {
      const auto [n0, n1] = cols(u0, u1);
      avx512::gemv_bf16_cols(M, n0, n1, K, a, ld, B, C, ldc, beta);
    }, grain);
    return;
  }
#endif
  (void)bf16;
  if (B.type == DType::BF16 && B.trans && K > 0) {  // bf16 weights, fp32 compute: see dot4_bf16_split
    const float* a = split_rows(M, K, A, lda);
    const auto kernel = RWKV_PER_ISA(gemv_bf16_split_cols);
    parallel_for(units, [&](long u0, long u1) {
      const auto [n0, n1] = cols(u0, u1);
      kernel(M, n0, n1, K, a, K, B, C, ldc, beta);
    }, grain);
    return;
  }
  dispatch_dtype(B.type, [&](auto tag) {
    const auto kernel = RWKV_PER_ISA(gemv_cols<decltype(tag)::value>);
    parallel_for(units, [&](long u0, long u1) {
      const auto [n0, n1] = cols(u0, u1);
      kernel(M, n0, n1, K, A, lda, B, C, ldc, beta);
    }, grain);
  });
}

}  // namespace rwkv::gemm

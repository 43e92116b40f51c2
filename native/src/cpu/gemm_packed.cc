// Packed, cache-blocked GEMM for many rows (Goto/BLIS loop order). B is packed into KC×NR
// micro-panels (converted on the way, whatever its layout and dtype), A into MR×KC micro-panels;
// a register-blocked MR×NR micro-kernel does all the arithmetic. Threads split C into independent
// column (or row) ranges, each packing its own panels: no barriers needed.
//
// This file holds the blocking and threading, the same for every path; the packing and the
// micro-kernels of each SIMD path are in gemm_packed.inc (compiled per ISA, cpu/per_isa.h).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "cpu/gemm_kernels.h"
#include "cpu/threadpool.h"

namespace rwkv::gemm {
namespace {

// Per-thread packing buffers, 64-byte aligned, grown to the largest blocks a kernel asks for.
class PackBuffer {
 public:
  // +64 floats: the vector packers may write a few floats past a panel's end.
  float* get(size_t floats) {
    if (floats > size_) {
      p_.reset(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (floats + 64))));
      if (!p_) throw std::bad_alloc();
      size_ = floats;
    }
    return p_.get();
  }

 private:
  struct Free { void operator()(float* p) const { std::free(p); } };
  std::unique_ptr<float, Free> p_;
  size_t size_ = 0;
};
PackBuffer& buffer_a() { thread_local PackBuffer b; return b; }
PackBuffer& buffer_b() { thread_local PackBuffer b; return b; }

// One thread's share with kernel Kr (a struct of gemm_packed.inc: block sizes, pack_a, pack_b,
// micro): the whole product restricted to C[0:M, 0:N] of its sub-matrix view. Kr::depth(kc) is
// the packed length of kc values of k (kc for fp32, kc/2 rounded up for bf16 pairs), in 4-byte words.
template <class Kr, DType T>
void gemm_range(int M, int N, int K, const float* A, long lda, const BOperand& B, int n_off, float* C, long ldc,
                float beta) {
  constexpr int MR = Kr::MR, NR = Kr::NR;
  float* pa = buffer_a().get(size_t(Kr::MC) * Kr::depth(Kr::KC));
  float* pb = buffer_b().get(size_t(Kr::NC) * Kr::depth(Kr::KC));
  const int nk = (K + Kr::KC - 1) / Kr::KC;  // K split into nk near-equal blocks (starts a multiple of KSTEP)
  const auto k_at = [&](int p) { return p == nk ? K : int(long(K) * p / nk) / Kr::KSTEP * Kr::KSTEP; };
  for (int jc = 0; jc < N; jc += Kr::NC) {
    const int nc = std::min(Kr::NC, N - jc);
    for (int p = 0; p < nk; ++p) {
      const int k0 = k_at(p), kc = k_at(p + 1) - k0;
      const long depth = Kr::depth(kc);
      Kr::template pack_b<T>(B, k0, kc, n_off + jc, nc, pb);
      const float bk = p == 0 ? beta : 1.f;
      for (int ic = 0; ic < M; ic += Kr::MC) {
        const int mc = std::min(Kr::MC, M - ic);
        Kr::pack_a(A + long(ic) * lda + k0, lda, mc, kc, pa);
        for (int jr = 0; jr < nc; jr += NR)
          for (int ir = 0; ir < mc; ir += MR)
            Kr::micro(kc, pa + ir * depth, pb + jr * depth, C + long(ic + ir) * ldc + jc + jr, ldc, bk,
                      std::min(MR, mc - ir), std::min(NR, nc - jr));
      }
    }
  }
}

template <class Kr, DType T>
void run_packed(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta) {
  // Split the longer side of C between threads: each thread re-packs the whole of the other
  // operand, so splitting N duplicates A's packing (M·K) and splitting M duplicates B's (K·N).
  const bool split_n = N >= M;
  const long units = split_n ? (N + Kr::NR - 1) / Kr::NR : (M + Kr::MR - 1) / Kr::MR;
  // Below ~4 MFLOP per thread the fan-out costs more than it saves.
  const double flops = 2.0 * M * N * K;
  const long pieces = std::max<long>(1, std::min<long>(num_threads(), long(flops / 4e6)));
  const long grain = (units + pieces - 1) / pieces;
  parallel_for(units, [&](long u0, long u1) {
    if (split_n) {
      const int n0 = int(u0 * Kr::NR), n1 = std::min<int>(N, int(u1 * Kr::NR));
      gemm_range<Kr, T>(M, n1 - n0, K, A, lda, B, n0, C + n0, ldc, beta);
    } else {
      const int m0 = int(u0 * Kr::MR), m1 = std::min<int>(M, int(u1 * Kr::MR));
      gemm_range<Kr, T>(m1 - m0, N, K, A + long(m0) * lda, lda, B, 0, C + long(m0) * ldc, ldc, beta);
    }
  }, grain);
}

}  // namespace
}  // namespace rwkv::gemm

#define RWKV_PER_ISA_FILE "cpu/gemm_packed.inc"
#include "cpu/per_isa.h"

namespace rwkv::gemm {

void gemm_packed(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta,
                 bool bf16) {
#ifdef RWKV_X86
  if (bf16) return avx512::packed_bf16(M, N, K, A, lda, B, C, ldc, beta);
#endif
  RWKV_PER_ISA(packed_f32)(M, N, K, A, lda, B, C, ldc, beta);
}

}  // namespace rwkv::gemm

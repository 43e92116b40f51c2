// Packed, cache-blocked GEMM for many rows (Goto/BLIS loop order). B is packed into KC×NR
// micro-panels (converted to fp32 on the way, whatever its layout and dtype), A into MR×KC
// micro-panels; a register-blocked MR×NR micro-kernel does all the arithmetic. Threads split C
// into independent column (or row) ranges, each packing its own panels: no barriers needed.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

#include "cpu/gemm_kernels.h"
#include "cpu/threadpool.h"

namespace rwkv::gemm {
namespace {

constexpr int MR = 6, NR = 16;  // 12 accumulators of 8 floats: 12 of the 16 ymm registers
constexpr int KC = 256;         // B micro-panel 16 KB + A micro-panel 6 KB stay in L1
constexpr int MC = 144;         // A block 144 KB stays in L2 (512 KB on Zen 3)
constexpr int NC = 2048;        // B block 2 MB stays in L3

// Per-thread packing buffers, 64-byte aligned, allocated once per thread.
struct PackBuffers {
  struct Free { void operator()(float* p) const { std::free(p); } };
  std::unique_ptr<float, Free> a, b;
  PackBuffers() {
    // +16 floats: the vector A packer may write a few floats past a panel's end.
    a.reset(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (MC * KC + 64))));
    b.reset(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (KC * NC + 64))));
    if (!a || !b) throw std::bad_alloc();
  }
};
PackBuffers& buffers() { thread_local PackBuffers p; return p; }

// ---- packing B: panel j holds op(B)[k0..k0+kc, n0+16j..n0+16j+16] as kc rows of 16 floats.

template <DType T>
void pack_b_scalar_panel(const BOperand& B, int k0, int kc, int n0, int nr, float* dst) {
  for (int k = 0; k < kc; ++k)
    for (int c = 0; c < NR; ++c) {
      const long kk = k0 + k, nn = n0 + c;
      dst[k * NR + c] = c < nr ? load1<T>(B.data, B.trans ? nn * B.ld + kk : kk * B.ld + nn) : 0.f;
    }
}

template <DType T>
void pack_b(const BOperand& B, int k0, int kc, int n0, int nc, float* dst) {
  for (int j = 0; j < nc; j += NR, dst += long(kc) * NR) {
    const int nr = std::min(NR, nc - j), n = n0 + j;
#ifdef RWKV_GEMM_AVX2
    if (nr == NR && !B.trans) {  // rows of op(B) are contiguous: copy 16 at a time
      for (int k = 0; k < kc; ++k) {
        const long src = long(k0 + k) * B.ld + n;
        _mm256_store_ps(dst + k * NR, load8<T>(B.data, src));
        _mm256_store_ps(dst + k * NR + 8, load8<T>(B.data, src + 8));
      }
      continue;
    }
    if (nr == NR && B.trans) {  // columns of op(B) are contiguous: transpose 8×8 blocks
      int k = 0;
      for (; k + 8 <= kc; k += 8)
        for (int h = 0; h < 2; ++h) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i) r[i] = load8<T>(B.data, long(n + 8 * h + i) * B.ld + k0 + k);
          transpose8(r);
          for (int i = 0; i < 8; ++i) _mm256_store_ps(dst + (k + i) * NR + 8 * h, r[i]);
        }
      if (k < kc) pack_b_scalar_panel<T>(B, k0 + k, kc - k, n, nr, dst + k * NR);
      continue;
    }
#endif
    pack_b_scalar_panel<T>(B, k0, kc, n, nr, dst);
  }
}

// ---- packing A: panel i holds A[m0+6i..m0+6i+6, k0..k0+kc] as kc columns of 6 floats.

void pack_a(const float* A, long lda, int mc, int kc, float* dst) {
  for (int i = 0; i < mc; i += MR, dst += long(kc) * MR) {
    const int mr = std::min(MR, mc - i);
    const float* a = A + long(i) * lda;
    int k = 0;
#ifdef RWKV_GEMM_AVX2
    // Transpose 8 columns of the 6 rows (padded with zeros) and store each 8-float column at a
    // stride of 6: each store's last two floats are overwritten by the next one (or are slack).
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int q = 0; q < 8; ++q) r[q] = q < mr ? _mm256_loadu_ps(a + long(q) * lda + k) : _mm256_setzero_ps();
      transpose8(r);
      for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (k + q) * MR, r[q]);
    }
#endif
    for (; k < kc; ++k)
      for (int q = 0; q < MR; ++q) dst[k * MR + q] = q < mr ? a[long(q) * lda + k] : 0.f;
  }
}

// ---- micro-kernel: C[mr,nr] = beta·C + Apanel·Bpanel over kc.

inline void store_tile(const float* tile, float* C, long ldc, float beta, int mr, int nr) {
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      float& d = C[r * ldc + c];
      d = beta == 0.f ? tile[r * NR + c] : d + tile[r * NR + c];
    }
}

#ifdef RWKV_GEMM_AVX2
// Twelve named accumulators: as an array GCC spills them to the stack on every iteration.
void micro_kernel(int kc, const float* a, const float* b, float* C, long ldc, float beta, int mr, int nr) {
  // C is touched only after the k loop; without a prefetch its misses stall the end of every tile.
  for (int r = 0; r < mr; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc + NR - 1), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int k = 0; k < kc; ++k, a += MR, b += NR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#define RWKV_ROW(r)                                 \
  {                                                 \
    const __m256 ar = _mm256_broadcast_ss(a + r);   \
    c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);     \
    c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);     \
  }
    RWKV_ROW(0) RWKV_ROW(1) RWKV_ROW(2) RWKV_ROW(3) RWKV_ROW(4) RWKV_ROW(5)
#undef RWKV_ROW
  }
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* c = C + r * ldc;
      __m256 v0 = acc[r][0], v1 = acc[r][1];
      if (beta != 0.f) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));
      }
      _mm256_storeu_ps(c, v0);
      _mm256_storeu_ps(c + 8, v1);
    }
    return;
  }
  alignas(32) float tile[MR * NR];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(tile + r * NR, acc[r][0]);
    _mm256_store_ps(tile + r * NR + 8, acc[r][1]);
  }
  store_tile(tile, C, ldc, beta, mr, nr);
}
#else
// Portable fallback: the same blocking with a loop the compiler can vectorise for its target.
void micro_kernel(int kc, const float* a, const float* b, float* C, long ldc, float beta, int mr, int nr) {
  float tile[MR * NR] = {};
  for (int k = 0; k < kc; ++k, a += MR, b += NR)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < NR; ++c) tile[r * NR + c] += a[r] * b[c];
  store_tile(tile, C, ldc, beta, mr, nr);
}
#endif

// One thread's share: the whole product restricted to C[0:M, 0:N] of its sub-matrix view.
template <DType T>
void gemm_range(int M, int N, int K, const float* A, long lda, const BOperand& B, int n_off, float* C, long ldc,
                float beta) {
  PackBuffers& buf = buffers();
  const int nk = (K + KC - 1) / KC;  // K split into nk near-equal blocks
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int p = 0; p < nk; ++p) {
      const int k0 = int(long(K) * p / nk), kc = int(long(K) * (p + 1) / nk) - k0;
      pack_b<T>(B, k0, kc, n_off + jc, nc, buf.b.get());
      const float bk = p == 0 ? beta : 1.f;
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        pack_a(A + long(ic) * lda + k0, lda, mc, kc, buf.a.get());
        for (int jr = 0; jr < nc; jr += NR)
          for (int ir = 0; ir < mc; ir += MR)
            micro_kernel(kc, buf.a.get() + long(ir) * kc, buf.b.get() + long(jr) * kc,
                         C + long(ic + ir) * ldc + jc + jr, ldc, bk, std::min(MR, mc - ir), std::min(NR, nc - jr));
      }
    }
  }
}

}  // namespace

void gemm_packed(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta) {
  // Split the longer side of C between threads: each thread re-packs the whole of the other
  // operand, so splitting N duplicates A's packing (M·K) and splitting M duplicates B's (K·N).
  const bool split_n = N >= M;
  const long units = split_n ? (N + NR - 1) / NR : (M + MR - 1) / MR;
  // Below ~4 MFLOP per thread the fan-out costs more than it saves.
  const double flops = 2.0 * M * N * K;
  const long pieces = std::max<long>(1, std::min<long>(num_threads(), long(flops / 4e6)));
  const long grain = (units + pieces - 1) / pieces;
  dispatch_dtype(B.type, [&](auto tag) {
    constexpr DType T = decltype(tag)::value;
    parallel_for(units, [&](long u0, long u1) {
      if (split_n) {
        const int n0 = int(u0 * NR), n1 = std::min<int>(N, int(u1 * NR));
        gemm_range<T>(M, n1 - n0, K, A, lda, B, n0, C + n0, ldc, beta);
      } else {
        const int m0 = int(u0 * MR), m1 = std::min<int>(M, int(u1 * MR));
        gemm_range<T>(m1 - m0, N, K, A + long(m0) * lda, lda, B, 0, C + long(m0) * ldc, ldc, beta);
      }
    }, grain);
  });
}

}  // namespace rwkv::gemm

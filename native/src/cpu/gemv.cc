// Matrix products with a few rows of A (RNN / generation mode): memory-bound, so B is streamed
// exactly once in its stored dtype (bf16 weights move half the bytes), threads split the bytes of B
// (of all the products of a batch, in one parallel region), and the few A rows are re-read from L1
// for every block of B. The kernels, per SIMD path, are in gemv.inc.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "cpu/gemm_kernels.h"
#include "cpu/scratch_buf.h"
#include "cpu/threadpool.h"

#define RWKV_PER_ISA_FILE "cpu/gemv.inc"
#include "cpu/per_isa.h"

namespace rwkv::gemm {
namespace {

// A's M rows, each rearranged as its (K+1)/2 even-offset elements then its K/2 odd-offset ones, into
// dst [M, K] (for gemv.inc's row_bf16_split; gemm::split_index is where element k goes). A plain
// deinterleave the compiler vectorises: element by element through split_index it was a third of
// a call's set-up (RNN decode of the 0.1B model: 3.1 → 2.1 µs a region before its threads start).
void split_rows(int M, int K, const float* A, long lda, float* dst) {
  const int half = (K + 1) / 2;
  for (int m = 0; m < M; ++m) {
    const float* __restrict a = A + m * lda;
    float* __restrict even = dst + m * long(K);
    float* __restrict odd = even + half;
    for (int k = 0; k < K / 2; ++k) {
      even[k] = a[2 * k];
      odd[k] = a[2 * k + 1];
    }
    if (K % 2) even[K / 2] = a[K - 1];
  }
}

// One job made ready to run: its A prepared for its kernel, its columns in blocks (units) of the
// kernel's width, and `run` computing units [u0, u1).
struct Planned {
  long units = 0, unit_bytes = 0;
  std::function<void(long, long)> run;
};

}  // namespace

void gemv(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta,
          bool bf16) {
  const GemvJob job{N, K, A, lda, B, C, ldc, beta, bf16};
  gemv_batch(M, &job, 1);
}

void gemv_batch(int M, const GemvJob* jobs, int count) {
  // Prepared copies of A, one per job that needs one (split rows, or rows rounded to bf16).
  std::vector<ScratchBuf> prepared(count);
  std::vector<Planned> plan(count);
  for (int i = 0; i < count; ++i) {
    const GemvJob& j = jobs[i];
    const long block = RWKV_PER_ISA(unit_cols)(j.B.trans);
    Planned& p = plan[i];
    p.units = (j.N + block - 1) / block;
    p.unit_bytes = std::max<long>(1, block * j.K * long(dtype_size(j.B.type)));
    const auto cols = [N = j.N, block](long u0, long u1) {
      return std::pair<int, int>(int(u0 * block), int(std::min<long>(N, u1 * block)));
    };
#ifdef RWKV_X86
    // bf16 compute: A's rows rounded to bf16 once, then bf16 dot products against B as stored.
    if (j.bf16 && j.K > 0) {
      const long ld = (j.K + 31) / 32 * 32;
      prepared[i].resize(size_t(M) * ld / 2 + 1);  // ld bf16 values per row
      uint16_t* a = reinterpret_cast<uint16_t*>(prepared[i].data());
      avx512::round_rows_bf16(M, j.K, j.A, j.lda, a, ld);
      p.run = [=, &j](long u0, long u1) {
        const auto [n0, n1] = cols(u0, u1);
        avx512::gemv_bf16_cols(M, n0, n1, j.K, a, ld, j.B, j.C, j.ldc, j.beta);
      };
      continue;
    }
#endif
    if (j.B.type == DType::BF16 && j.B.trans && j.K > 0) {  // bf16 weights, fp32 compute: row_bf16_split
      prepared[i].resize(size_t(M) * j.K);
      float* a = prepared[i].data();
      split_rows(M, j.K, j.A, j.lda, a);
      const auto kernel = RWKV_PER_ISA(gemv_bf16_split_cols);
      p.run = [=, &j](long u0, long u1) {
        const auto [n0, n1] = cols(u0, u1);
        kernel(M, n0, n1, j.K, a, j.K, j.B, j.C, j.ldc, j.beta);
      };
      continue;
    }
    dispatch_dtype(j.B.type, [&](auto tag) {
      const auto kernel = RWKV_PER_ISA(gemv_cols<decltype(tag)::value>);
      p.run = [=, &j](long u0, long u1) {
        const auto [n0, n1] = cols(u0, u1);
        kernel(M, n0, n1, j.K, j.A, j.lda, j.B, j.C, j.ldc, j.beta);
      };
    });
  }
  // The threads share the jobs' bytes of B, counted in 256-byte steps of the jobs laid end to end;
  // each job's part of a range of steps is the units that start inside it, so any partition of the
  // steps computes every unit once, and a column's result never depends on who computed it.
  constexpr long kStep = 256;
  std::vector<long> start(count + 1, 0);  // in steps
  for (int i = 0; i < count; ++i) start[i + 1] = start[i] + (plan[i].units * plan[i].unit_bytes + kStep - 1) / kStep;
  const auto unit_at = [&](int i, long step) {  // the first unit of job i starting at or after `step`
    const long bytes = std::max<long>(0, step - start[i]) * kStep;
    return std::min(plan[i].units, (bytes + plan[i].unit_bytes - 1) / plan[i].unit_bytes);
  };
  const auto run_steps = [&](long s0, long s1) {
    for (int i = 0; i < count; ++i) {
      if (start[i + 1] <= s0 || start[i] >= s1) continue;
      const long u0 = s0 <= start[i] ? 0 : unit_at(i, s0), u1 = s1 >= start[i + 1] ? plan[i].units : unit_at(i, s1);
      if (u1 > u0) plan[i].run(u0, u1);
    }
  };
  // Pieces are claimed as threads get to them, each the remaining steps over twice the threads
  // (guided scheduling), down to ~64 KB of B: a fixed half each left the region waiting on the
  // thread that started late or streamed slower (RNN decode on the 2-vCPU VM: the pool's worker
  // started ~5 µs after the caller and its half took ~10% longer, every region). Pieces shrink
  // geometrically, so a thread's stream restarts only a few times a region.
  const long total = start[count], min_piece = (64 * 1024) / kStep;
  const int threads = int(std::min<long>(num_threads(), (total + min_piece - 1) / min_piece));
  if (threads <= 1) return run_steps(0, total);
  std::atomic<long> next{0};
  parallel_for(threads, [&](long, long) {
    for (long s0 = next.load(std::memory_order_relaxed);;) {
      if (s0 >= total) return;
      const long s1 = std::min(total, s0 + std::max(min_piece, (total - s0) / (2 * threads)));
      if (next.compare_exchange_weak(s0, s1, std::memory_order_relaxed)) {
        run_steps(s0, s1);
        s0 = next.load(std::memory_order_relaxed);
      }
    }
  });
}

}  // namespace rwkv::gemm

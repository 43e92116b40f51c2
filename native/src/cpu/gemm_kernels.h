// Internals of rwkv::matmul shared by its two paths: the packed, cache-blocked GEMM for many rows
// (gemm_packed.cc with its per-ISA kernels gemm_packed.inc) and the streaming GEMV for a few rows
// (gemv.cc, gemv.inc). Not for use outside gemm*.cc / gemv.cc.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/tensor.h"

namespace rwkv::gemm {

// The B operand as stored: element (k, n) of op(B) is at trans ? n*ld + k : k*ld + n.
struct BOperand {
  const void* data;
  DType type;
  long ld;
  bool trans;
};

// Rows up to this many take the GEMV path: B is streamed once and no packing is paid for.
constexpr int kGemvMaxRows = 8;

// Both run the copy of their kernels for active_isa(). bf16 = true (bf16 compute, see gemm.h) only
// with a bf16 B on a CPU with AVX512_BF16 and the avx512 path active: the caller checks.
void gemm_packed(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta,
                 bool bf16);
void gemv(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta, bool bf16);
// Several GEMVs of M rows in one parallel region (see rwkv::matmul_batch); bf16 per job as in gemv.
struct GemvJob {
  int N, K;
  const float* A;
  long lda;
  BOperand B;
  float* C;
  long ldc;
  float beta;
  bool bf16;
};
void gemv_batch(int M, const GemvJob* jobs, int count);

// One element of B converted to fp32 (scalar edges and the portable fallback).
template <DType T>
inline float load1(const void* p, long i) {
  if constexpr (T == DType::F32) return static_cast<const float*>(p)[i];
  else if constexpr (T == DType::BF16) return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  else return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

// Where element k of a row of K values lies once the row is split into its (K+1)/2 even-offset
// elements followed by its K/2 odd-offset ones (gemv.cc's split_rows, gemv.inc's row_bf16_split).
inline long split_index(long k, long K) { return (k % 2 ? (K + 1) / 2 : 0) + k / 2; }

// Prefetch of element i of an operand of dtype t (a hint: it never faults, also past the end).
inline void prefetch(const void* p, DType t, long i) {
  __builtin_prefetch(static_cast<const char*>(p) + i * long(dtype_size(t)));
}

template <DType T>
using DTypeTag = std::integral_constant<DType, T>;

// Calls body(DTypeTag<t>{}) so that inner loops see the dtype as a compile-time constant.
template <typename F>
inline void dispatch_dtype(DType t, F&& body) {
  switch (t) {
    case DType::F32: body(DTypeTag<DType::F32>{}); return;
    case DType::BF16: body(DTypeTag<DType::BF16>{}); return;
    case DType::F16: body(DTypeTag<DType::F16>{}); return;
  }
}

}  // namespace rwkv::gemm

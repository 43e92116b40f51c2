// Internals of rwkv::matmul shared by its two paths: the packed, cache-blocked GEMM for many rows
// (gemm_packed.cc) and the streaming GEMV for a few rows (gemv.cc). Not for use outside gemm*.cc.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/tensor.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define RWKV_GEMM_AVX2 1
#include <immintrin.h>
#endif

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

void gemm_packed(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta);
void gemv(int M, int N, int K, const float* A, long lda, const BOperand& B, float* C, long ldc, float beta);

// One element of B converted to fp32 (scalar edges and the portable fallback).
template <DType T>
inline float load1(const void* p, long i) {
  if constexpr (T == DType::F32) return static_cast<const float*>(p)[i];
  else if constexpr (T == DType::BF16) return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  else return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

#ifdef RWKV_GEMM_AVX2
// Eight consecutive elements of B converted to fp32; bf16 → fp32 is a 16-bit left shift.
template <DType T>
inline __m256 load8(const void* p, long i) {
  if constexpr (T == DType::F32) {
    return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
    if constexpr (T == DType::BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    else return _mm256_cvtph_ps(h);
  }
}

// In-place transpose of an 8×8 block held in eight registers.
inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    const int b = 4 * h;
    s[b + 0] = _mm256_shuffle_ps(t[b + 0], t[b + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[b + 1] = _mm256_shuffle_ps(t[b + 0], t[b + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[b + 2] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[b + 3] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}
#endif

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

// Compiles the WKV kernels (wkv_kernels.inc) once per SIMD path, each with its function target
// attribute (no global -m flag), and hands out the table of the path asked for.
#include "cpu/wkv_kernels.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/vmath.h"

namespace rwkv::wkv {
namespace {

// Zeroed float scratch, 64-byte aligned so that rows of 16 floats do not straddle cache lines.
struct Buf {
  std::vector<float> v;
  float* p;
  explicit Buf(size_t n) : v(n + 16, 0.f) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(v.data());
    p = v.data() + ((64 - a % 64) % 64) / sizeof(float);
  }
};

// The next n floats of a carved buffer (rounded up to whole 64-byte lines).
inline float* carve(float*& x, size_t n) {
  float* y = x;
  x += (n + 15) / 16 * 16;
  return y;
}

// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols; in 8×8 blocks so that both sides stay in cache.
inline void transpose(int rows, int cols, const float* src, long lds, float* dst, long ldd) {
  for (int r0 = 0; r0 < rows; r0 += 8)
    for (int c0 = 0; c0 < cols; c0 += 8)
      for (int r = r0; r < std::min(rows, r0 + 8); ++r)
        for (int c = c0; c < std::min(cols, c0 + 8); ++c) dst[c * ldd + r] = src[r * lds + c];
}

// Zeroes the entries of an L×L matrix above its diagonal (strict: on it too).
inline void mask_upper(float* M, bool strict) {
  for (int t = 0; t < kChunk; ++t)
    for (int s = strict ? t : t + 1; s < kChunk; ++s) M[t * kChunk + s] = 0.f;
}

// Rows 0..n of x (row stride C, N channels) into X [kChunk][N], zero rows from n on.
inline void load_rows(const float* x, long C, int n, int N, float* X) {
  for (int t = 0; t < kChunk; ++t)
    if (t < n) std::copy(x + t * C, x + t * C + N, X + t * N);
    else std::fill(X + t * N, X + (t + 1) * N, 0.f);
}

namespace portable {
#define WKV_LANES 4
#define WKV_FN
#include "cpu/wkv_kernels.inc"
#undef WKV_FN
#undef WKV_LANES
}  // namespace portable

#ifdef RWKV_X86
namespace avx2 {
#define WKV_LANES 8
#define WKV_FN RWKV_TARGET_AVX2
#include "cpu/wkv_kernels.inc"
#undef WKV_FN
#undef WKV_LANES
}  // namespace avx2

namespace avx512 {
#define WKV_LANES 16
#define WKV_FN RWKV_TARGET_AVX512
#include "cpu/wkv_kernels.inc"
#undef WKV_FN
#undef WKV_LANES
}  // namespace avx512
#endif

}  // namespace

const Kernels& kernels(Isa isa) {
#ifdef RWKV_X86
  if (isa == Isa::Avx512) return avx512::table();
  if (isa == Isa::Avx2) return avx2::table();
#endif
  (void)isa;
  return portable::table();
}

}  // namespace rwkv::wkv

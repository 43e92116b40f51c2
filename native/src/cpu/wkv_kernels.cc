// Compiles the WKV kernels (wkv_kernels.inc) once per SIMD path, each with its function target
// attribute (no global -m flag), and hands out the table of the path asked for.
#include "cpu/wkv_kernels.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "cpu/vmath.h"

namespace rwkv::wkv {
namespace {


// The next n floats of a carved buffer (rounded up to whole 64-byte lines).
inline float* carve(float*& x, size_t n) {
  float* y = x;
  x += (n + 15) / 16 * 16;
  return y;
}

// Zeroes the entries of an L×L matrix above its diagonal (strict: on it too).
inline void mask_upper(float* M, bool strict) {
  for (int t = 0; t < kChunk; ++t)
    for (int s = strict ? t : t + 1; s < kChunk; ++s) M[t * kChunk + s] = 0.f;
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

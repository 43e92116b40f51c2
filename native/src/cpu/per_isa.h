// Kernels written once and compiled once per SIMD path, so the addon needs no -march flag and the
// CPU that runs the code picks the path (cpu/isa.h). For plain loops (elementwise passes, norms,
// reductions) the compiler's auto-vectoriser does the work at each path's width; kernels that want
// explicit vectors use `Vec` (cpu/vec.inc), the same source for every path.
//
// How to use it, in a .cc file:
//
//   #include <...every header the kernels need...>
//   #define RWKV_PER_ISA_FILE "cpu/norm.inc"   // the kernels: code only, no #include, no guard
//   #include "cpu/per_isa.h"                  // once per translation unit
//   ...
//   RWKV_PER_ISA(norm_rows)(args...);          // calls the copy for active_isa()
//
// per_isa.h includes the .inc file three times, each inside `namespace rwkv::<path> { namespace {`
// (internal linkage, so the names never clash across files) and, for avx2/avx512, inside a
// `#pragma GCC target` region; RWKV_ISA_LEVEL is 0 (portable), 1 (avx2) or 2 (avx512) there.
// Rules inside an .inc, learned the hard way:
//  - GCC does not give lambdas the region's target: a lambda in an .inc is compiled for the
//    baseline (no intrinsics in it, and its loops vectorise for SSE2 only). Put the loop in a
//    named function of the .inc and let the lambda (e.g. a parallel_for body) call it.
//  - Friend functions defined inside a class do not get it either: write free functions.
//  - Inline functions from headers (vmath.h, tensor.h) are inlined into the region's functions and
//    vectorised at its width: include those headers before per_isa.h, as usual.
//  - The per-path copies are internal to the .cc: other files call a plain function of that .cc
//    which dispatches (see norm.cc). Pick the copy once per call, outside parallel_for's lambda.
//  - A nested region adds features to one function group, e.g. the bf16 GEMM kernels:
//    RWKV_TARGET_PUSH(RWKV_FEATURES_AVX512BF16) ... RWKV_TARGET_POP().
// On other architectures only the portable copy exists and RWKV_PER_ISA picks it.
//
// No include guard on purpose: the per-path part below runs once per including file. The helper
// macros are guarded.
#ifndef RWKV_PER_ISA_HELPERS
#define RWKV_PER_ISA_HELPERS
#include "cpu/isa.h"
#include "core/tensor.h"
#ifdef RWKV_X86
// GCC 12's intrinsics headers warn "'__Y' is used uninitialized" wherever an intrinsic built on
// _mm*_undefined_*() is inlined (GCC bug 105593); the warning is located in the header, so it is
// silenced for the header's lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#define RWKV_PRAGMA(x) _Pragma(#x)
#define RWKV_TARGET_PUSH(features) RWKV_PRAGMA(GCC push_options) RWKV_PRAGMA(GCC target(features))
#define RWKV_TARGET_POP() RWKV_PRAGMA(GCC pop_options)

namespace rwkv {
// The copy of a per-ISA function for the path in use (one relaxed atomic load and a switch).
template <typename F>
inline F per_isa_pick(F portable, F avx2, F avx512) {
  switch (active_isa()) {
    case Isa::Avx512: return avx512;
    case Isa::Avx2: return avx2;
    default: return portable;
  }
}
}  // namespace rwkv

#ifdef RWKV_X86
#define RWKV_PER_ISA(fn) ::rwkv::per_isa_pick(&::rwkv::portable::fn, &::rwkv::avx2::fn, &::rwkv::avx512::fn)
#else
#define RWKV_PER_ISA(fn) (&::rwkv::portable::fn)
#endif
#endif  // RWKV_PER_ISA_HELPERS

#ifndef RWKV_PER_ISA_FILE
#error "define RWKV_PER_ISA_FILE (the .inc file of kernels) before including cpu/per_isa.h"
#endif

#define RWKV_ISA_LEVEL 0
namespace rwkv { namespace portable { namespace {
#include "cpu/vec.inc"
#include RWKV_PER_ISA_FILE
}}}  // namespace rwkv::portable::(anonymous)
#undef RWKV_ISA_LEVEL

#ifdef RWKV_X86
RWKV_TARGET_PUSH(RWKV_FEATURES_AVX2)
#define RWKV_ISA_LEVEL 1
namespace rwkv { namespace avx2 { namespace {
#include "cpu/vec.inc"
#include RWKV_PER_ISA_FILE
}}}  // namespace rwkv::avx2::(anonymous)
#undef RWKV_ISA_LEVEL
RWKV_TARGET_POP()

RWKV_TARGET_PUSH(RWKV_FEATURES_AVX512)
#define RWKV_ISA_LEVEL 2
namespace rwkv { namespace avx512 { namespace {
#include "cpu/vec.inc"
#include RWKV_PER_ISA_FILE
}}}  // namespace rwkv::avx512::(anonymous)
#undef RWKV_ISA_LEVEL
RWKV_TARGET_POP()
#endif

#undef RWKV_PER_ISA_FILE

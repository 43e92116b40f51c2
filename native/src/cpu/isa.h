// Which SIMD path the CPU kernels take, chosen at run time by the CPU that runs the code (not the
// build host): cpuid/xgetbv once at first use, overridable with RWKV_SIMD=avx512|avx2|portable or
// set_isa(). Every kernel with SIMD keeps the three paths side by side and switches on active_isa().
//
// SIMD code is compiled with function target attributes (RWKV_TARGET_*), never with a global
// -m flag, so the addon builds on any x86-64 and runs each path only where the CPU has it.
#pragma once
#include <string>

namespace rwkv {

enum class Isa : int { Portable = 0, Avx2 = 1, Avx512 = 2 };

// What the CPU (and the OS, for the wide registers' save area) offers.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false;            // vdpbf16ps: bf16 pairs multiplied into fp32 sums
  bool amx_tile = false, amx_bf16 = false;
  std::string brand;                   // e.g. "AMD EPYC 9R45" (may be generic in a VM)
};
const CpuFeatures& cpu_features();

// The Avx2 path needs AVX2+FMA+F16C; Avx512 needs F/BW/VL/DQ on top of that.
bool isa_supported(Isa isa);
Isa best_isa();
// The path in use: RWKV_SIMD when set (an unsupported or unknown value throws RwkvError on first
// use), else best_isa().
Isa active_isa();
// Forces a path (tests run every supported one); throws RwkvError when the CPU lacks it.
void set_isa(Isa isa);
const char* isa_name(Isa isa);       // "avx512", "avx2", "portable"
bool parse_isa(const std::string& name, Isa* out);

}  // namespace rwkv

#if defined(__x86_64__) || defined(_M_X64)
#define RWKV_X86 1
// The instruction sets each path may use, as GCC target strings (one place for the attributes
// below and for the per-ISA regions of cpu/per_isa.h).
#define RWKV_FEATURES_AVX2 "avx2,fma,f16c"
#define RWKV_FEATURES_AVX512 "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"
#define RWKV_FEATURES_AVX512BF16 "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c"
#define RWKV_TARGET_AVX2 __attribute__((target(RWKV_FEATURES_AVX2)))
#define RWKV_TARGET_AVX512 __attribute__((target(RWKV_FEATURES_AVX512)))
#define RWKV_TARGET_AVX512BF16 __attribute__((target(RWKV_FEATURES_AVX512BF16)))
#endif

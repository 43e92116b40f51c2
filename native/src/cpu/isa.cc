#include "cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"

#ifdef RWKV_X86
#include <cpuid.h>
#endif

namespace rwkv {
namespace {

#ifdef RWKV_X86
CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  // The OS must save the YMM (bits 1-2) and, for AVX-512, the opmask/ZMM (bits 5-7) state.
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
  const bool amx_os = (xcr0 & (3ull << 17)) == (3ull << 17);
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = ymm && (b & (1u << 5));
    f.avx512f = zmm && (b & (1u << 16));
    f.avx512dq = zmm && (b & (1u << 17));
    f.avx512bw = zmm && (b & (1u << 30));
    f.avx512vl = zmm && (b & (1u << 31));
    f.amx_bf16 = amx_os && (d & (1u << 22));
    f.amx_tile = amx_os && (d & (1u << 24));
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = zmm && (a & (1u << 5));
  }
  if (!ymm) f.fma = f.f16c = false;
  char brand[49] = {};
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000004u) {
    for (unsigned i = 0; i < 3; ++i) {
      __cpuid(0x80000002u + i, a, b, c, d);
      std::memcpy(brand + 16 * i, &a, 4); std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4); std::memcpy(brand + 16 * i + 12, &d, 4);
    }
  }
  f.brand = brand;
  while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

// -1 = not chosen yet; set once from RWKV_SIMD or best_isa(), or by set_isa().
std::atomic<int> g_isa{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::Portable: return true;
    case Isa::Avx2: return f.avx2 && f.fma && f.f16c;
    case Isa::Avx512: return isa_supported(Isa::Avx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  }
  return false;
}

Isa best_isa() {
  return isa_supported(Isa::Avx512) ? Isa::Avx512 : isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Portable;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

bool parse_isa(const std::string& name, Isa* out) {
  for (Isa i : {Isa::Portable, Isa::Avx2, Isa::Avx512})
    if (name == isa_name(i)) { *out = i; return true; }
  return false;
}

void set_isa(Isa isa) {
  if (!isa_supported(isa))
    throw RwkvError(std::string("this CPU cannot run the ") + isa_name(isa) + " path (best: " + isa_name(best_isa()) +
                    ")");
  g_isa.store(int(isa));
}

Isa active_isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v >= 0) return Isa(v);
  Isa isa = best_isa();
  if (const char* env = std::getenv("RWKV_SIMD"); env && *env) {
    if (!parse_isa(env, &isa))
      throw RwkvError(std::string("RWKV_SIMD=") + env + " is not a SIMD path (use avx512, avx2 or portable)");
    if (!isa_supported(isa))
      throw RwkvError(std::string("RWKV_SIMD=") + env + ": this CPU cannot run that path (best: " +
                      isa_name(best_isa()) + ")");
  }
  g_isa.store(int(isa));
  return isa;
}

}  // namespace rwkv

// cudaMemoryStats / cudaResetPeakMemory / cudaTimeGemm (declared in kernel/runtime/native.ts): GPU
// memory figures and the GEMM kernel's speed, for benchmarks and notebooks. Without the CUDA backend
// memory reads as zeros and cudaTimeGemm throws.
#include <string>

#include "napi/registry.h"
#include "napi/util.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/backend.h"
#endif

namespace rwkv::napi {
namespace {

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  double free = 0, total = 0, peak = 0;
#ifdef RWKV_WITH_CUDA
  const auto m = guard(env, [] { return rwkv::cuda::memory_stats(); });
  free = double(m.free); total = double(m.total); peak = double(m.peak_used);
#endif
  out.Set("free", free);
  out.Set("total", total);
  out.Set("peakUsed", peak);
  return out;
}

Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
#ifdef RWKV_WITH_CUDA
  rwkv::cuda::reset_peak_memory();
#endif
  return info.Env().Undefined();
}

// cudaTimeGemm({M, N, K, quant?: "none"|"nf4"|"int8", reps?}) → seconds per GEMM call.
Napi::Value TimeGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "cudaTimeGemm({M, N, K, quant?, reps?}): argument must be an object");
  auto o = info[0].As<Napi::Object>();
  auto num = [&](const char* k, int def) {
    auto v = o.Get(k);
    if (v.IsUndefined() && def > 0) return def;
    if (!v.IsNumber() || v.As<Napi::Number>().Int32Value() < 1)
      throw Napi::RangeError::New(env, std::string("cudaTimeGemm: ") + k + " must be a positive integer");
    return v.As<Napi::Number>().Int32Value();
  };
  const int M = num("M", 0), N = num("N", 0), K = num("K", 0), reps = num("reps", 10);
  const std::string q = o.Get("quant").IsString() ? o.Get("quant").As<Napi::String>().Utf8Value() : "none";
#ifdef RWKV_WITH_CUDA
  rwkv::cuda::Quant quant = rwkv::cuda::Quant::None;
  if (q == "nf4") quant = rwkv::cuda::Quant::NF4;
  else if (q == "int8") quant = rwkv::cuda::Quant::Int8;
  else if (q != "none") throw Napi::TypeError::New(env, "cudaTimeGemm: quant must be \"none\", \"nf4\" or \"int8\"");
  return Napi::Number::New(env, guard(env, [&] { return rwkv::cuda::time_gemm(M, N, K, quant, reps); }));
#else
  (void)M; (void)N; (void)K; (void)reps;
  throw Napi::Error::New(env, "cudaTimeGemm: this build has no CUDA backend");
#endif
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaMemoryStats", Napi::Function::New(env, MemoryStats, "cudaMemoryStats"));
  exports.Set("cudaTimeGemm", Napi::Function::New(env, TimeGemm, "cudaTimeGemm"));
  exports.Set("cudaResetPeakMemory", Napi::Function::New(env, ResetPeak, "cudaResetPeakMemory"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

// Process-level facts and settings: SIMD level, threads, CUDA availability.
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "cpu/profile.h"
#include "cpu/threadpool.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/cublas.h"
#include "cuda/device.h"
#endif

namespace rwkv::napi {
namespace {

Napi::Object CpuInfo(Napi::Env env) {
  const CpuFeatures& f = cpu_features();
  auto cpu = Napi::Object::New(env);
  cpu.Set("brand", f.brand);
  auto flags = Napi::Array::New(env);
  uint32_t n = 0;
  for (auto [name, has] : {std::pair{"avx2", f.avx2}, {"fma", f.fma}, {"f16c", f.f16c}, {"avx512f", f.avx512f},
                           {"avx512bw", f.avx512bw}, {"avx512vl", f.avx512vl}, {"avx512dq", f.avx512dq},
                           {"avx512_bf16", f.avx512_bf16}, {"amx_tile", f.amx_tile}, {"amx_bf16", f.amx_bf16}})
    if (has) flags.Set(n++, name);
  cpu.Set("features", flags);
  auto paths = Napi::Array::New(env);
  n = 0;
  for (Isa i : {Isa::Avx512, Isa::Avx2, Isa::Portable})
    if (isa_supported(i)) paths.Set(n++, isa_name(i));
  cpu.Set("simdPaths", paths);
  return cpu;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("simd", isa_name(active_isa()));
  out.Set("bf16Compute", bf16_compute_available());
  out.Set("cpu", CpuInfo(env));
  out.Set("threads", num_threads());
  auto cuda = Napi::Object::New(env);
  auto list = Napi::Array::New(env);
#ifdef RWKV_WITH_CUDA
  std::string why;
  auto devs = rwkv::cuda::devices(&why);
  for (size_t i = 0; i < devs.size(); ++i) {
    auto d = Napi::Object::New(env);
    d.Set("index", devs[i].index);
    d.Set("name", devs[i].name);
    d.Set("totalMemory", double(devs[i].total_memory));
    d.Set("computeCapability", std::to_string(devs[i].major) + "." + std::to_string(devs[i].minor));
    list.Set(uint32_t(i), d);
  }
  cuda.Set("compiled", true);
  cuda.Set("available", !devs.empty());
  cuda.Set("runtimeVersion", rwkv::cuda::runtime_version());
  if (devs.empty()) cuda.Set("reason", why);
  if (!devs.empty()) {  // loading cuBLAS starts a CUDA context: only where there is a device
    const auto& cb = rwkv::cuda::cublas_info();
    cuda.Set("gemm", cb.loaded ? "cublas" : "own");
    cuda.Set("cublas", cb.detail);
  }
#else
  cuda.Set("compiled", false);
  cuda.Set("available", false);
  cuda.Set("reason",
           "this build of the native runtime has no CUDA backend (no CUDA toolkit was found when it was built)");
#endif
  cuda.Set("devices", list);
  out.Set("cuda", cuda);
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  set_num_threads(int_arg(info[0], "setThreads(n): n", 1));
  return Napi::Number::New(info.Env(), num_threads());
}

// setSimd("avx512" | "avx2" | "portable"): forces a SIMD path (RWKV_SIMD does the same at start).
Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  Isa isa;
  parse_isa(choice_arg(info[0], "setSimd(path): path", {"avx512", "avx2", "portable"}), &isa);
  guard(info.Env(), [&] { set_isa(isa); });
  return Napi::String::New(info.Env(), isa_name(active_isa()));
}

// setProfiling(on): busy time per stage from now on (cpu/profile.h); returns on.
Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setProfiling(on): on must be true or false");
  set_profiling(info[0].As<Napi::Boolean>().Value());
  return info[0];
}

// stageTimes(reset?): {stage: {wallS, cpuS}} since the last reset.
Napi::Value StageTimes(const Napi::CallbackInfo& info) {
  StageTime t[int(Stage::Count)];
  stage_times(t, info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value());
  auto out = Napi::Object::New(info.Env());
  for (int i = 0; i < int(Stage::Count); ++i) {
    auto o = Napi::Object::New(info.Env());
    o.Set("wallS", t[i].wall_s);
    o.Set("cpuS", t[i].cpu_s);
    out.Set(stage_name(Stage(i)), o);
  }
  return out;
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("setProfiling", Napi::Function::New(env, SetProfiling, "setProfiling"));
  exports.Set("stageTimes", Napi::Function::New(env, StageTimes, "stageTimes"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

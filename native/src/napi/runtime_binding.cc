// Process-level facts and settings: SIMD level, threads, CUDA availability.
#include "cpu/threadpool.h"
#include "napi/registry.h"
#include "napi/util.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/device.h"
#endif

namespace rwkv::napi {
namespace {

const char* simd_level() {
#if defined(__AVX512BF16__)
  return "avx512_bf16";
#elif defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "scalar";
#endif
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("simd", simd_level());
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
#else
  cuda.Set("compiled", false);
  cuda.Set("available", false);
  cuda.Set("reason", "this build of the native runtime has no CUDA backend (no CUDA toolkit was found when it was built)");
#endif
  cuda.Set("devices", list);
  out.Set("cuda", cuda);
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 1)
    throw Napi::RangeError::New(info.Env(), "setThreads(n): n must be a positive integer");
  set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), num_threads());
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

// cudaMemoryStats / cudaResetPeakMemory / cudaTimeGemm (declared in kernel/runtime/native.ts): GPU
// memory figures and the GEMM kernel's speed, for benchmarks and notebooks. Without the CUDA backend
// memory reads as zeros and cudaTimeGemm throws. CUDA builds also export single-op test bindings
// (cudaWkv7Forward/Backward, cudaWkv6Forward/Backward, cudaMatmul) that mirror the CPU ones.
#include <string>

#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/backend.h"
#include "cuda/host_ops.h"
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

#ifdef RWKV_WITH_CUDA
rwkv::cuda::Quant quant_of(const Napi::Value& v, const std::string& what) {
  const std::string q = choice_arg(v, what + ": quant", {"none", "nf4", "int8"}, "none");
  return q == "nf4" ? rwkv::cuda::Quant::NF4 : q == "int8" ? rwkv::cuda::Quant::Int8 : rwkv::cuda::Quant::None;
}

OpShape cuda_shape(const Napi::Value& v, const char* what) {
  const OpShape s = op_shape(v, what);
  if (s.N != 64) throw Napi::RangeError::New(v.Env(), std::string(what) + ": the CUDA ops need N = 64");
  return s;
}

float* arg(const Napi::CallbackInfo& info, int i, const char* name, size_t n) {
  return typed_ptr<float>(info[i], name, n);
}

// cudaWkv7Forward(shape, r, w, k, v, a, b, state, y)
Napi::Value Wkv7Forward(const Napi::CallbackInfo& info) {
  const OpShape s = cuda_shape(info[0], "cudaWkv7Forward");
  const size_t n = s.rows();
  const rwkv::Wkv7In in{arg(info, 1, "r", n), arg(info, 2, "w", n), arg(info, 3, "k", n), arg(info, 4, "v", n),
                        arg(info, 5, "a", n), arg(info, 6, "b", n)};
  float *state = arg(info, 7, "state", s.state()), *y = arg(info, 8, "y", n);
  guard(info.Env(), [&] { rwkv::cuda::wkv7_forward_host(s.B, s.T, s.H, in, state, y); });
  return info.Env().Undefined();
}

// cudaWkv7Backward(shape, r, w, k, v, a, b, s0, dy, dr, dw, dk, dv, da, db, ds0)
Napi::Value Wkv7Backward(const Napi::CallbackInfo& info) {
  const OpShape s = cuda_shape(info[0], "cudaWkv7Backward");
  const size_t n = s.rows();
  const rwkv::Wkv7In in{arg(info, 1, "r", n), arg(info, 2, "w", n), arg(info, 3, "k", n), arg(info, 4, "v", n),
                        arg(info, 5, "a", n), arg(info, 6, "b", n)};
  const float *s0 = arg(info, 7, "s0", s.state()), *dy = arg(info, 8, "dy", n);
  const rwkv::Wkv7Grad g{arg(info, 9, "dr", n), arg(info, 10, "dw", n), arg(info, 11, "dk", n),
                         arg(info, 12, "dv", n), arg(info, 13, "da", n), arg(info, 14, "db", n)};
  float* ds0 = arg(info, 15, "ds0", s.state());
  guard(info.Env(), [&] { rwkv::cuda::wkv7_backward_host(s.B, s.T, s.H, in, s0, dy, g, ds0); });
  return info.Env().Undefined();
}

// cudaWkv6Forward(shape, r, k, v, w, u, state, y)
Napi::Value Wkv6Forward(const Napi::CallbackInfo& info) {
  const OpShape o = cuda_shape(info[0], "cudaWkv6Forward");
  const rwkv::Wkv6Shape s{o.B, o.T, o.H, o.N};
  const size_t n = o.rows();
  const float *r = arg(info, 1, "r", n), *k = arg(info, 2, "k", n);
  const float *v = arg(info, 3, "v", n), *w = arg(info, 4, "w", n);
  const float* u = arg(info, 5, "u", size_t(s.C()));
  float *state = arg(info, 6, "state", o.state()), *y = arg(info, 7, "y", n);
  guard(info.Env(), [&] { rwkv::cuda::wkv6_forward_host(s, r, k, v, w, u, state, y); });
  return info.Env().Undefined();
}

// cudaWkv6Backward(shape, r, k, v, w, u, s0, dy, dstate, dr, dk, dv, dw, du|null)
Napi::Value Wkv6Backward(const Napi::CallbackInfo& info) {
  const OpShape o = cuda_shape(info[0], "cudaWkv6Backward");
  const rwkv::Wkv6Shape s{o.B, o.T, o.H, o.N};
  const size_t n = o.rows();
  const float *r = arg(info, 1, "r", n), *k = arg(info, 2, "k", n);
  const float *v = arg(info, 3, "v", n), *w = arg(info, 4, "w", n);
  const float *u = arg(info, 5, "u", size_t(s.C())), *s0 = arg(info, 6, "s0", o.state()), *dy = arg(info, 7, "dy", n);
  float *dstate = arg(info, 8, "dstate", o.state()), *dr = arg(info, 9, "dr", n), *dk = arg(info, 10, "dk", n);
  float *dv = arg(info, 11, "dv", n), *dw = arg(info, 12, "dw", n);
  float* du = optional_ptr<float>(info[13], "du", size_t(s.C()));
  guard(info.Env(), [&] { rwkv::cuda::wkv6_backward_host(s, r, k, v, w, u, s0, dy, dstate, dr, dk, dv, dw, du); });
  return info.Env().Undefined();
}

// cudaMatmul({m, n, k, a, b: Uint16Array (bf16 bits), transB, c, quant?}): c = a·op(b).
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = object_arg(info[0], "cudaMatmul({m, n, k, a, b, transB, c, quant?}): argument");
  auto dim = [&](const char* k) { return int_arg(o.Get(k), std::string("cudaMatmul: ") + k, 1); };
  const int M = dim("m"), N = dim("n"), K = dim("k");
  const float* a = typed_ptr<float>(o.Get("a"), "cudaMatmul: a", size_t(M) * K);
  const uint16_t* b = typed_ptr<uint16_t>(o.Get("b"), "cudaMatmul: b", size_t(N) * K);
  float* c = typed_ptr<float>(o.Get("c"), "cudaMatmul: c", size_t(M) * N);
  const bool trans_b = o.Get("transB").ToBoolean();
  const rwkv::cuda::Quant q = quant_of(o.Get("quant"), "cudaMatmul");
  guard(env, [&] { rwkv::cuda::matmul_host(M, N, K, a, b, trans_b, c, q); });
  return env.Undefined();
}
#endif

// cudaTimeGemm({M, N, K, quant?: "none"|"nf4"|"int8", reps?, impl?: "auto"|"own"|"cublas"}) → seconds per
// GEMM call: "auto" as the model calls it, "own" our WMMA kernel, "cublas" the library alone on bf16 A.
Napi::Value TimeGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = object_arg(info[0], "cudaTimeGemm({M, N, K, quant?, reps?, impl?}): argument");
  auto num = [&](const char* k) { return int_arg(o.Get(k), std::string("cudaTimeGemm: ") + k, 1); };
  const int M = num("M"), N = num("N"), K = num("K");
  const int reps = int_arg(o.Get("reps"), "cudaTimeGemm: reps", 1, INT_MAX, 10);
#ifdef RWKV_WITH_CUDA
  const rwkv::cuda::Quant quant = quant_of(o.Get("quant"), "cudaTimeGemm");
  const std::string impl = choice_arg(o.Get("impl"), "cudaTimeGemm: impl", {"auto", "own", "cublas"}, "auto");
  const auto what = impl == "own"      ? rwkv::cuda::TimedGemm::Own
                    : impl == "cublas" ? rwkv::cuda::TimedGemm::Library
                                       : rwkv::cuda::TimedGemm::Backend;
  return Napi::Number::New(env, guard(env, [&] { return rwkv::cuda::time_gemm(M, N, K, quant, reps, what); }));
#else
  (void)M; (void)N; (void)K; (void)reps;
  throw Napi::Error::New(env, "cudaTimeGemm: this build has no CUDA backend");
#endif
}

// cudaGemmProfile(true) starts timing every GEMM call; cudaGemmProfile(false) stops and returns
// {calls, seconds, flops} (device time of the GEMMs alone). Without the CUDA backend: zeros.
Napi::Value GemmProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool start = info.Length() > 0 && info[0].ToBoolean();
  double calls = 0, seconds = 0, flops = 0;
#ifdef RWKV_WITH_CUDA
  if (start) {
    guard(env, [] { rwkv::cuda::gemm_profile_start(); });
  } else {
    const auto p = guard(env, [] { return rwkv::cuda::gemm_profile_stop(); });
    calls = double(p.calls); seconds = p.seconds; flops = p.flops;
  }
#else
  (void)start;
#endif
  auto out = Napi::Object::New(env);
  out.Set("calls", calls);
  out.Set("seconds", seconds);
  out.Set("flops", flops);
  return out;
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaGemmProfile", Napi::Function::New(env, GemmProfile, "cudaGemmProfile"));
  exports.Set("cudaMemoryStats", Napi::Function::New(env, MemoryStats, "cudaMemoryStats"));
  exports.Set("cudaTimeGemm", Napi::Function::New(env, TimeGemm, "cudaTimeGemm"));
  exports.Set("cudaResetPeakMemory", Napi::Function::New(env, ResetPeak, "cudaResetPeakMemory"));
#ifdef RWKV_WITH_CUDA
  exports.Set("cudaWkv7Forward", Napi::Function::New(env, Wkv7Forward, "cudaWkv7Forward"));
  exports.Set("cudaWkv7Backward", Napi::Function::New(env, Wkv7Backward, "cudaWkv7Backward"));
  exports.Set("cudaWkv6Forward", Napi::Function::New(env, Wkv6Forward, "cudaWkv6Forward"));
  exports.Set("cudaWkv6Backward", Napi::Function::New(env, Wkv6Backward, "cudaWkv6Backward"));
  exports.Set("cudaMatmul", Napi::Function::New(env, Matmul, "cudaMatmul"));
#endif
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

// matmul(args): direct access to rwkv::matmul (or the reference loop) on caller-owned typed
// arrays, for tests and benchmarks of the GEMM itself. Synchronous: it blocks the JS thread.
#include <string>

#include "cpu/gemm.h"
#include "napi/registry.h"
#include "napi/util.h"

namespace rwkv::napi {
namespace {

int int_arg(const Napi::Object& o, const char* key, int fallback, int min) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    if (fallback < min) throw Napi::TypeError::New(o.Env(), std::string("matmul: ") + key + " is required");
    return fallback;
  }
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("matmul: ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != double(long(d)) || d < min || d > 2147483647.0)
    throw Napi::RangeError::New(o.Env(),
                                std::string("matmul: ") + key + " must be an integer >= " + std::to_string(min));
  return int(d);
}

// Elements a row-major [rows, cols] view with row stride ld needs.
size_t extent(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : size_t(rows - 1) * ld + cols; }

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "matmul(args): args must be an object");
  const Napi::Object o = info[0].As<Napi::Object>();
  const int M = int_arg(o, "m", -1, 0), N = int_arg(o, "n", -1, 0), K = int_arg(o, "k", -1, 0);
  const bool trans = o.Get("transB").ToBoolean();
  const int lda = int_arg(o, "lda", K, K), ldb = int_arg(o, "ldb", trans ? K : N, trans ? K : N);
  const int ldc = int_arg(o, "ldc", N, N);
  const std::string bt = o.Has("bType") ? o.Get("bType").ToString().Utf8Value() : "f32";
  DType type;
  if (bt == "f32") type = DType::F32;
  else if (bt == "bf16") type = DType::BF16;
  else if (bt == "f16") type = DType::F16;
  else throw Napi::TypeError::New(env, "matmul: bType must be \"f32\", \"bf16\" or \"f16\", not \"" + bt + "\"");
  const int beta = int_arg(o, "beta", 0, 0);
  if (beta > 1) throw Napi::RangeError::New(env, "matmul: beta must be 0 or 1");
  const std::string impl = o.Has("impl") ? o.Get("impl").ToString().Utf8Value() : "fast";
  if (impl != "fast" && impl != "reference")
    throw Napi::TypeError::New(env, "matmul: impl must be \"fast\" or \"reference\"");
  const std::string prec_name = o.Has("precision") ? o.Get("precision").ToString().Utf8Value() : "f32";
  if (prec_name != "f32" && prec_name != "bf16")
    throw Napi::TypeError::New(env,
                               "matmul: precision must be \"f32\" or \"bf16\", not \"" + prec_name + "\"");
  const Precision prec = prec_name == "bf16" ? Precision::BF16 : Precision::F32;
  const int repeat = int_arg(o, "repeat", 1, 1);

  const float* A = typed_ptr<float>(o.Get("a"), "matmul: a", extent(M, K, lda));
  const size_t b_len = trans ? extent(N, K, ldb) : extent(K, N, ldb);
  const void* B = type == DType::F32
                      ? static_cast<const void*>(typed_ptr<float>(o.Get("b"), "matmul: b (f32)", b_len))
                      : static_cast<const void*>(typed_ptr<uint16_t>(o.Get("b"), "matmul: b (bf16/f16)", b_len));
  float* C = typed_ptr<float>(o.Get("c"), "matmul: c", extent(M, N, ldc));
  const bool fast = impl == "fast";
  guard(env, [&] {
    for (int i = 0; i < repeat; ++i) {
      if (fast) matmul(M, N, K, A, lda, B, type, ldb, trans, C, ldc, float(beta), prec);
      else matmul_reference(M, N, K, A, lda, B, type, ldb, trans, C, ldc, float(beta));
    }
  });
  return env.Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

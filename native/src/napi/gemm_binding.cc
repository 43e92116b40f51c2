// matmul(args): direct access to rwkv::matmul (or the reference loop) on caller-owned typed
// arrays, for tests and benchmarks of the GEMM itself. Synchronous: it blocks the JS thread.
#include <string>

#include "cpu/gemm.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"

namespace rwkv::napi {
namespace {

// Elements a row-major [rows, cols] view with row stride ld needs.
size_t extent(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : size_t(rows - 1) * ld + cols; }

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = object_arg(info[0], "matmul(args): args");
  auto dim = [&](const char* key, int min, int fallback) {
    return int_arg(o.Get(key), std::string("matmul: ") + key, min, INT_MAX, fallback);
  };
  const int M = int_arg(o.Get("m"), "matmul: m", 0), N = int_arg(o.Get("n"), "matmul: n", 0);
  const int K = int_arg(o.Get("k"), "matmul: k", 0);
  const bool trans = o.Get("transB").ToBoolean();
  const int lda = dim("lda", K, K), ldb = dim("ldb", trans ? K : N, trans ? K : N), ldc = dim("ldc", N, N);
  const DType type = dtype_arg(o.Get("bType"), "matmul: bType", "f32");
  const int beta = dim("beta", 0, 0);
  if (beta > 1) throw Napi::RangeError::New(env, "matmul: beta must be 0 or 1");
  const bool fast = choice_arg(o.Get("impl"), "matmul: impl", {"fast", "reference"}, "fast") == "fast";
  const int repeat = dim("repeat", 1, 1);
  const Precision prec =
      choice_arg(o.Get("precision"), "matmul: precision", {"f32", "bf16"}, "f32") == "bf16" ? Precision::BF16
                                                                                          : Precision::F32;

  const float* A = typed_ptr<float>(o.Get("a"), "matmul: a", extent(M, K, lda));
  const size_t b_len = trans ? extent(N, K, ldb) : extent(K, N, ldb);
  const void* B = type == DType::F32
                      ? static_cast<const void*>(typed_ptr<float>(o.Get("b"), "matmul: b (f32)", b_len))
                      : static_cast<const void*>(typed_ptr<uint16_t>(o.Get("b"), "matmul: b (bf16/f16)", b_len));
  float* C = typed_ptr<float>(o.Get("c"), "matmul: c", extent(M, N, ldc));
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

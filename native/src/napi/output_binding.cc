// outputFloat32(n): a Float32Array for a call's output (logits) on memory recycled from the CPU
// layers' block cache (cpu/scratch_buf.h), given back to it when the array is collected. Why: a
// fresh array's pages fault on first write, and a fault costs ~12 µs on some virtual machines
// (core/host_memory.h), where a recycled block has its pages already. The contents are unset (NaN
// bits under RWKV_SCRATCH_POISON): the calls that take it write every element they return.
#include <cstddef>
#include <cstdint>

#include "cpu/scratch_buf.h"
#include "napi/args.h"
#include "napi/registry.h"

namespace rwkv::napi {
namespace {

Napi::Value OutputFloat32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = size_t(int_arg(info[0], "outputFloat32(n): n", 1));
  const size_t bytes = n * sizeof(float);
  void* p = scratch_alloc(bytes);
  // Counted as external memory, so that V8's collector weighs these arrays by their size (a kept
  // snapshot holds three state-sized ones) as it does its own ArrayBuffers.
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(bytes));
  auto buf = Napi::ArrayBuffer::New(
      env, p, bytes,
      [](Napi::Env e, void* data, size_t* size) {
        Napi::MemoryManagement::AdjustExternalMemory(e, -int64_t(*size));
        scratch_give(data, *size);
        delete size;
      },
      new size_t(bytes));
  return Napi::Float32Array::New(env, n, buf, 0);
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("outputFloat32", Napi::Function::New(env, OutputFloat32, "outputFloat32"));
}

}  // namespace

RWKV_NAPI_REGISTER(Register);

}  // namespace rwkv::napi

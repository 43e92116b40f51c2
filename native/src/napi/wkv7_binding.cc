// Test and benchmark access to the RWKV-7 WKV operator (cpu/wkv7.h). Synchronous: callers time or
// check the op itself. Not part of the runtime API.
#include "cpu/wkv7.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"

namespace rwkv::napi {
namespace {

Wkv7In inputs(const Napi::CallbackInfo& info, const OpShape& s) {
  const size_t n = s.rows();
  return {typed_ptr<float>(info[1], "r", n), typed_ptr<float>(info[2], "w", n), typed_ptr<float>(info[3], "k", n),
          typed_ptr<float>(info[4], "v", n), typed_ptr<float>(info[5], "a", n), typed_ptr<float>(info[6], "b", n)};
}

// wkv7Forward(shape, r, w, k, v, a, b, state, y): state in = s0, out = final state.
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const OpShape s = op_shape(info[0], "wkv7");
  const Wkv7In in = inputs(info, s);
  float* state = typed_ptr<float>(info[7], "state", s.state());
  float* y = typed_ptr<float>(info[8], "y", s.rows());
  guard(info.Env(), [&] { wkv7_forward(s.B, s.T, s.H, s.N, in, state, y); });
  return info.Env().Undefined();
}

// wkv7Backward(shape, r, w, k, v, a, b, s0, dy, dsT | null, dr, dw, dk, dv, da, db, ds0)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const OpShape s = op_shape(info[0], "wkv7");
  const size_t n = s.rows(), ns = s.state();
  const Wkv7In in = inputs(info, s);
  const float* s0 = typed_ptr<float>(info[7], "s0", ns);
  const float* dy = typed_ptr<float>(info[8], "dy", n);
  const float* dsT = optional_ptr<float>(info[9], "dsT", ns);
  const Wkv7Grad g{typed_ptr<float>(info[10], "dr", n), typed_ptr<float>(info[11], "dw", n),
                   typed_ptr<float>(info[12], "dk", n), typed_ptr<float>(info[13], "dv", n),
                   typed_ptr<float>(info[14], "da", n), typed_ptr<float>(info[15], "db", n)};
  float* ds0 = typed_ptr<float>(info[16], "ds0", ns);
  guard(info.Env(), [&] { wkv7_backward(s.B, s.T, s.H, s.N, in, s0, dy, dsT, g, ds0); });
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("wkv7Forward", Napi::Function::New(env, Forward, "wkv7Forward"));
  exports.Set("wkv7Backward", Napi::Function::New(env, Backward, "wkv7Backward"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

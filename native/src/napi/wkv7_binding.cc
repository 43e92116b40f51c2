// Test and benchmark access to single RWKV-7 CPU kernels (cpu/wkv7.h), and to the WKV variant rule
// (cpu/wkv_impl.h). Synchronous: callers time or check the op itself. Not part of the runtime API.
#include <string>

#include "cpu/wkv7.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"
#include "napi/wkv_args.h"

namespace rwkv::napi {
namespace {

Wkv7In inputs(const Napi::CallbackInfo& info, const OpShape& s) {
  const size_t n = s.rows();
  return {typed_ptr<float>(info[1], "r", n), typed_ptr<float>(info[2], "w", n), typed_ptr<float>(info[3], "k", n),
          typed_ptr<float>(info[4], "v", n), typed_ptr<float>(info[5], "a", n), typed_ptr<float>(info[6], "b", n)};
}

// opts.saved: what the forward keeps for the backward (cpu/wkv7.h), wkv7_saved_floats() floats, or absent.
float* saved_arg(const Napi::Value& opts, const OpShape& s) {
  if (!opts.IsObject()) return nullptr;
  return optional_ptr<float>(opts.As<Napi::Object>().Get("saved"), "opts.saved", wkv7_saved_floats(s.B, s.T, s.H, s.N));
}

// wkv7Forward(shape, r, w, k, v, a, b, state, y, opts?): state in = s0, out = final state; opts.saved written.
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const OpShape s = op_shape(info[0], "wkv7");
  const Wkv7In in = inputs(info, s);
  float* state = typed_ptr<float>(info[7], "state", s.state());
  float* y = typed_ptr<float>(info[8], "y", s.rows());
  const WkvOptions o = wkv_options(info[9]);
  float* saved = saved_arg(info[9], s);
  guard(info.Env(), [&] {
    for (int i = 0; i < o.repeat; ++i) wkv7_forward(s.B, s.T, s.H, s.N, in, state, y, saved, o.impl);
  });
  return info.Env().Undefined();
}

// wkv7Backward(shape, r, w, k, v, a, b, s0, dy, dsT | null, dr, dw, dk, dv, da, db, ds0, opts?); opts.saved read.
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
  const WkvOptions o = wkv_options(info[17]);
  const float* saved = saved_arg(info[17], s);
  guard(info.Env(), [&] {
    for (int i = 0; i < o.repeat; ++i) wkv7_backward(s.B, s.T, s.H, s.N, in, s0, dy, dsT, g, ds0, saved, o.impl);
  });
  return info.Env().Undefined();
}

// wkvChoice(version 6 | 7, backward, shape, saved?) → the variant an "auto" call of that op and shape
// runs on the active SIMD path ("reference", "sequential" or "chunked"; RWKV_WKV counts). saved: an
// RWKV-7 backward given its forward's saves.
Napi::Value Choice(const Napi::CallbackInfo& info) {
  const int version = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (version != 6 && version != 7) throw Napi::TypeError::New(info.Env(), "wkvChoice: version must be 6 or 7");
  const bool backward = info[1].ToBoolean(), saved = info[3].ToBoolean();
  const OpShape s = op_shape(info[2], "wkvChoice");
  const WkvOp op = version == 7 ? (backward ? (saved ? WkvOp::V7BackwardSaved : WkvOp::V7Backward) : WkvOp::V7Forward)
                                : (backward ? WkvOp::V6Backward : WkvOp::V6Forward);
  WkvImpl impl = WkvImpl::Auto;
  guard(info.Env(), [&] { impl = wkv_choose(WkvImpl::Auto, op, s.T, s.N); });
  return Napi::String::New(info.Env(), wkv_impl_name(impl));
}

// wkv7SavedFloats(shape): how many floats opts.saved holds (cpu/wkv7.h's layout).
Napi::Value SavedFloats(const Napi::CallbackInfo& info) {
  const OpShape s = op_shape(info[0], "wkv7SavedFloats");
  return Napi::Number::New(info.Env(), double(wkv7_saved_floats(s.B, s.T, s.H, s.N)));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("wkv7SavedFloats", Napi::Function::New(env, SavedFloats, "wkv7SavedFloats"));
  exports.Set("wkvChoice", Napi::Function::New(env, Choice, "wkvChoice"));
  exports.Set("wkv7Forward", Napi::Function::New(env, Forward, "wkv7Forward"));
  exports.Set("wkv7Backward", Napi::Function::New(env, Backward, "wkv7Backward"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

// Test and benchmark access to the RWKV-6 WKV operator (cpu/wkv6.h). Synchronous: callers
// are tests and benches that time the op itself.
#include "cpu/wkv6.h"
#include "napi/registry.h"
#include "napi/util.h"
#include "napi/wkv_args.h"

namespace rwkv::napi {
namespace {

int int_field(const Napi::Object& o, const char* name) {
  auto v = o.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("wkv6 shape.") + name + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

Wkv6Shape shape_of(const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "wkv6 shape must be an object {B, T, H, N}");
  auto o = v.As<Napi::Object>();
  Wkv6Shape s;
  s.B = int_field(o, "B"); s.T = int_field(o, "T"); s.H = int_field(o, "H"); s.N = int_field(o, "N");
  if (s.B <= 0 || s.T <= 0 || s.H <= 0 || s.N <= 0)
    throw Napi::RangeError::New(v.Env(), "wkv6 shape: B, T, H, N must be positive");
  return s;
}

// wkv6Forward(shape, r, k, v, w, u, state, y, opts?) → checkpoints (Float32Array for wkv6Backward):
// opts.checkpoints when given (filled in place, so timing loops allocate nothing), else a new array.
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Wkv6Shape s = shape_of(info[0]);
  const size_t btc = size_t(s.B) * s.T * s.C(), hn = size_t(s.H) * s.N, state = size_t(s.B) * hn * s.N;
  const float* r = typed_ptr<float>(info[1], "r", btc);
  const float* k = typed_ptr<float>(info[2], "k", btc);
  const float* v = typed_ptr<float>(info[3], "v", btc);
  const float* w = typed_ptr<float>(info[4], "w", btc);
  const float* u = typed_ptr<float>(info[5], "u", hn);
  float* st = typed_ptr<float>(info[6], "state", state);
  float* y = typed_ptr<float>(info[7], "y", btc);
  const WkvOptions o = wkv_options(info[8]);
  const Napi::Value given = info[8].IsObject() ? info[8].As<Napi::Object>().Get("checkpoints") : info.Env().Undefined();
  const Napi::Value ckpt = given.IsUndefined() ? Napi::Float32Array::New(info.Env(), s.checkpoint_floats()) : given;
  float* ck = typed_ptr<float>(ckpt, "opts.checkpoints", s.checkpoint_floats());
  guard(info.Env(), [&] {
    for (int i = 0; i < o.repeat; ++i) wkv6_forward(s, r, k, v, w, u, st, y, ck, o.impl);
  });
  return ckpt;
}

// wkv6Backward(shape, r, k, v, w, u, checkpoints, dy, dstate, dr, dk, dv, dw, du | null, opts?)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Wkv6Shape s = shape_of(info[0]);
  const size_t btc = size_t(s.B) * s.T * s.C(), hn = size_t(s.H) * s.N, state = size_t(s.B) * hn * s.N;
  const float* r = typed_ptr<float>(info[1], "r", btc);
  const float* k = typed_ptr<float>(info[2], "k", btc);
  const float* v = typed_ptr<float>(info[3], "v", btc);
  const float* w = typed_ptr<float>(info[4], "w", btc);
  const float* u = typed_ptr<float>(info[5], "u", hn);
  const float* ckpt = typed_ptr<float>(info[6], "checkpoints", s.checkpoint_floats());
  const float* dy = typed_ptr<float>(info[7], "dy", btc);
  float* dst = typed_ptr<float>(info[8], "dstate", state);
  float* dr = typed_ptr<float>(info[9], "dr", btc);
  float* dk = typed_ptr<float>(info[10], "dk", btc);
  float* dv = typed_ptr<float>(info[11], "dv", btc);
  float* dw = typed_ptr<float>(info[12], "dw", btc);
  float* du = info[13].IsNull() || info[13].IsUndefined() ? nullptr : typed_ptr<float>(info[13], "du", hn);
  const WkvOptions o = wkv_options(info[14]);
  guard(info.Env(), [&] {
    for (int i = 0; i < o.repeat; ++i) wkv6_backward(s, r, k, v, w, u, ckpt, dy, dst, dr, dk, dv, dw, du, o.impl);
  });
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("wkv6Forward", Napi::Function::New(env, Forward, "wkv6Forward"));
  exports.Set("wkv6Backward", Napi::Function::New(env, Backward, "wkv6Backward"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

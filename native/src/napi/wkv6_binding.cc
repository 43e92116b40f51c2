// Test and benchmark access to the RWKV-6 WKV operator (cpu/wkv6.h). Synchronous: callers
// are tests and benches that time the op itself.
#include "cpu/wkv6.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"
#include "napi/wkv_args.h"

namespace rwkv::napi {
namespace {

Wkv6Shape shape_of(const Napi::Value& v) {
  const OpShape o = op_shape(v, "wkv6");
  return {o.B, o.T, o.H, o.N};
}

// The operands both calls take first: r, k, v, w [B,T,C] and u [H,N].
struct Operands {
  const float *r, *k, *v, *w, *u;
  Operands(const Napi::CallbackInfo& info, const Wkv6Shape& s) {
    const size_t btc = size_t(s.B) * s.T * s.C();
    r = typed_ptr<float>(info[1], "r", btc);
    k = typed_ptr<float>(info[2], "k", btc);
    v = typed_ptr<float>(info[3], "v", btc);
    w = typed_ptr<float>(info[4], "w", btc);
    u = typed_ptr<float>(info[5], "u", size_t(s.C()));
  }
};

// wkv6Forward(shape, r, k, v, w, u, state, y, opts?) → checkpoints (Float32Array for wkv6Backward):
// opts.checkpoints when given (filled in place, so timing loops allocate nothing), else a new array.
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Wkv6Shape s = shape_of(info[0]);
  const size_t btc = size_t(s.B) * s.T * s.C(), state = size_t(s.B) * s.C() * s.N;
  const Operands o(info, s);
  float* st = typed_ptr<float>(info[6], "state", state);
  float* y = typed_ptr<float>(info[7], "y", btc);
  const WkvOptions opt = wkv_options(info[8]);
  const Napi::Value given = info[8].IsObject() ? info[8].As<Napi::Object>().Get("checkpoints") : info.Env().Undefined();
  const Napi::Value ckpt = given.IsUndefined() ? Napi::Float32Array::New(info.Env(), s.checkpoint_floats()) : given;
  float* ck = typed_ptr<float>(ckpt, "opts.checkpoints", s.checkpoint_floats());
  guard(info.Env(), [&] {
    for (int i = 0; i < opt.repeat; ++i) wkv6_forward(s, o.r, o.k, o.v, o.w, o.u, st, y, ck, opt.impl);
  });
  return ckpt;
}

// wkv6Backward(shape, r, k, v, w, u, checkpoints, dy, dstate, dr, dk, dv, dw, du | null, opts?)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Wkv6Shape s = shape_of(info[0]);
  const size_t btc = size_t(s.B) * s.T * s.C(), state = size_t(s.B) * s.C() * s.N;
  const Operands o(info, s);
  const float* ckpt = typed_ptr<float>(info[6], "checkpoints", s.checkpoint_floats());
  const float* dy = typed_ptr<float>(info[7], "dy", btc);
  float* dst = typed_ptr<float>(info[8], "dstate", state);
  float* grads[4];
  const char* names[4] = {"dr", "dk", "dv", "dw"};
  for (int i = 0; i < 4; ++i) grads[i] = typed_ptr<float>(info[9 + i], names[i], btc);
  float* du = optional_ptr<float>(info[13], "du", size_t(s.C()));
  const WkvOptions opt = wkv_options(info[14]);
  guard(info.Env(), [&] {
    for (int i = 0; i < opt.repeat; ++i)
      wkv6_backward(s, o.r, o.k, o.v, o.w, o.u, ckpt, dy, dst, grads[0], grads[1], grads[2], grads[3], du, opt.impl);
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

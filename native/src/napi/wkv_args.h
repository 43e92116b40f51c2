// The optional trailing options of the WKV test bindings (wkv7_binding.cc, wkv6_binding.cc):
// { impl?: "auto" | "reference" | "sequential" | "chunked" (cpu/wkv_impl.h), repeat?: n ≥ 1 }.
// repeat runs the op n times in a row (for timing without the binding's own costs; in/out
// arguments such as the state carry over from one run to the next).
#pragma once
#include <napi.h>

#include <string>

#include "cpu/wkv_impl.h"

namespace rwkv::napi {

struct WkvOptions {
  WkvImpl impl = WkvImpl::Auto;
  int repeat = 1;
};

inline WkvOptions wkv_options(const Napi::Value& v) {
  WkvOptions o;
  if (v.IsUndefined()) return o;
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "WKV options must be an object { impl?, repeat? }");
  const Napi::Object obj = v.As<Napi::Object>();
  const Napi::Value impl = obj.Get("impl"), repeat = obj.Get("repeat");
  if (!impl.IsUndefined() && (!impl.IsString() || !parse_wkv_impl(impl.As<Napi::String>().Utf8Value(), &o.impl)))
    throw Napi::TypeError::New(v.Env(), "impl must be \"auto\", \"reference\", \"sequential\" or \"chunked\"");
  if (!repeat.IsUndefined()) {
    if (!repeat.IsNumber() || repeat.As<Napi::Number>().Int32Value() < 1)
      throw Napi::RangeError::New(v.Env(), "repeat must be a positive integer");
    o.repeat = repeat.As<Napi::Number>().Int32Value();
  }
  return o;
}

}  // namespace rwkv::napi

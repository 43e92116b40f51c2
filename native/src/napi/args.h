// Argument parsing shared by every binding file: typed arrays, numbers, booleans, strings from a
// fixed set, objects, and the {B, T, H, N} shape of the op bindings. Each parser throws a TypeError
// (wrong kind) or a RangeError (wrong value) that names the argument.
#pragma once
#include <napi.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "core/tensor.h"

namespace rwkv::napi {

template <typename T>
struct ArrayOf;
template <>
struct ArrayOf<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct ArrayOf<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct ArrayOf<uint16_t> {
  static constexpr napi_typedarray_type type = napi_uint16_array;
  static constexpr const char* name = "Uint16Array";
};

inline bool absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

// Elements of a typed array argument of element type T.
template <typename T>
size_t typed_length(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayOf<T>::type)
    throw Napi::TypeError::New(v.Env(), what + " must be a " + ArrayOf<T>::name);
  return v.As<Napi::TypedArray>().ElementLength();
}

// Pointer into a typed array argument holding at least `min_len` elements.
template <typename T>
T* typed_ptr(const Napi::Value& v, const std::string& what, size_t min_len = 0) {
  const size_t n = typed_length<T>(v, what);
  if (n < min_len)
    throw Napi::RangeError::New(v.Env(), what + " has " + std::to_string(n) + " elements, needs " +
                                             std::to_string(min_len));
  return v.As<Napi::TypedArrayOf<T>>().Data();
}

// typed_ptr, or null when the argument is null or undefined.
template <typename T>
T* optional_ptr(const Napi::Value& v, const std::string& what, size_t min_len = 0) {
  return absent(v) ? nullptr : typed_ptr<T>(v, what, min_len);
}

// Raw bytes of an ArrayBuffer, Buffer or any typed array / DataView.
inline std::pair<void*, size_t> bytes_of(const Napi::Value& v, const std::string& what) {
  if (v.IsArrayBuffer()) { auto b = v.As<Napi::ArrayBuffer>(); return {b.Data(), b.ByteLength()}; }
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    return {static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (v.IsDataView()) {
    auto d = v.As<Napi::DataView>();
    return {static_cast<uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset(), d.ByteLength()};
  }
  throw Napi::TypeError::New(v.Env(), what + " must be an ArrayBuffer or a typed array");
}

inline Napi::Object object_arg(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), what + " must be an object");
  return v.As<Napi::Object>();
}

inline std::string string_arg(const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), what + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline double number_arg(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), what + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// An integer in [min, max].
inline int int_arg(const Napi::Value& v, const std::string& what, int min, int max = INT_MAX) {
  const double d = number_arg(v, what);
  if (d != std::floor(d) || d < min || d > max)
    throw Napi::RangeError::New(v.Env(), what + " must be an integer in [" + std::to_string(min) + ", " +
                                             std::to_string(max) + "]");
  return int(d);
}
// The same, `fallback` when undefined.
inline int int_arg(const Napi::Value& v, const std::string& what, int min, int max, int fallback) {
  return v.IsUndefined() ? fallback : int_arg(v, what, min, max);
}

inline bool bool_arg(const Napi::Value& v, const std::string& what, bool fallback) {
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(v.Env(), what + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// One of `choices`; `fallback` (when non-null) for undefined.
inline std::string choice_arg(const Napi::Value& v, const std::string& what,
                              std::initializer_list<const char*> choices, const char* fallback = nullptr) {
  if (v.IsUndefined() && fallback) return fallback;
  std::string list;
  for (const char* c : choices) list += std::string(list.empty() ? "" : ", ") + "\"" + c + "\"";
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), what + " must be one of " + list);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const char* c : choices)
    if (s == c) return s;
  throw Napi::TypeError::New(v.Env(), what + " must be one of " + list + ", got \"" + s + "\"");
}

inline DType dtype_arg(const Napi::Value& v, const std::string& what, const char* fallback = nullptr) {
  const std::string s = choice_arg(v, what, {"f32", "bf16", "f16"}, fallback);
  return s == "f32" ? DType::F32 : s == "bf16" ? DType::BF16 : DType::F16;
}

// The {B, T, H, N} of a WKV op call: rows [B,T,H·N], states [B,H,N,N].
struct OpShape {
  int B, T, H, N;
  size_t rows() const { return size_t(B) * T * H * N; }
  size_t state() const { return size_t(B) * H * N * N; }
};
inline OpShape op_shape(const Napi::Value& v, const std::string& what) {
  const Napi::Object o = object_arg(v, what + " shape {B, T, H, N}");
  auto dim = [&](const char* k) { return int_arg(o.Get(k), what + " shape." + k, 1); };
  return {dim("B"), dim("T"), dim("H"), dim("N")};
}

}  // namespace rwkv::napi

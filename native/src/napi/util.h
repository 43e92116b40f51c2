// Small helpers shared by the binding files: typed-array access with checks, and a Promise-
// returning worker that keeps its JS buffers alive and turns C++ errors into JS errors.
#pragma once
#include <napi.h>

#include <functional>
#include <new>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/tensor.h"

namespace rwkv::napi {

template <typename T>
struct ArrayOf;
template <> struct ArrayOf<float> { static constexpr napi_typedarray_type type = napi_float32_array; static constexpr const char* name = "Float32Array"; };
template <> struct ArrayOf<int32_t> { static constexpr napi_typedarray_type type = napi_int32_array; static constexpr const char* name = "Int32Array"; };
template <> struct ArrayOf<uint16_t> { static constexpr napi_typedarray_type type = napi_uint16_array; static constexpr const char* name = "Uint16Array"; };

// Pointer into a typed array argument; throws a TypeError naming `what` when it is not one,
// or when it holds fewer than `min_len` elements.
template <typename T>
T* typed_ptr(const Napi::Value& v, const char* what, size_t min_len = 0) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayOf<T>::type)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a " + ArrayOf<T>::name);
  auto a = v.As<Napi::TypedArrayOf<T>>();
  if (a.ElementLength() < min_len)
    throw Napi::RangeError::New(v.Env(), std::string(what) + " has " + std::to_string(a.ElementLength()) +
                                             " elements, needs " + std::to_string(min_len));
  return a.Data();
}

// Raw bytes of an ArrayBuffer, Buffer or any typed array / DataView.
inline std::pair<void*, size_t> bytes_of(const Napi::Value& v, const char* what) {
  if (v.IsArrayBuffer()) { auto b = v.As<Napi::ArrayBuffer>(); return {b.Data(), b.ByteLength()}; }
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    return {static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (v.IsDataView()) {
    auto d = v.As<Napi::DataView>();
    return {static_cast<uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset(), d.ByteLength()};
  }
  throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an ArrayBuffer or a typed array");
}

// Runs `work` on a libuv worker thread and resolves a Promise with `done(env)` (or undefined).
// `keep` lists JS values (buffers) that must stay alive until the work ends.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise Run(Napi::Env env, std::vector<Napi::Value> keep, Work work, Done done = nullptr) {
    auto* w = new PromiseWorker(env, std::move(keep), std::move(work), std::move(done));
    auto p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try { work_(); }
    catch (const Cancelled&) { code_ = "ABORT_ERR"; SetError("The operation was aborted"); }
    catch (const std::bad_alloc&) { code_ = "ERR_RWKV_OOM"; SetError("out of memory: the native runtime could not allocate the memory this call needs"); }
    catch (const std::exception& e) { SetError(e.what()); }
  }
  void OnOK() override { deferred_.Resolve(done_ ? done_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override {
    Napi::Error err = Napi::Error::New(Env(), e.Message());
    if (code_) {
      err.Set("code", Napi::String::New(Env(), code_));
      if (std::string(code_) == "ABORT_ERR") err.Set("name", Napi::String::New(Env(), "AbortError"));
    }
    deferred_.Reject(err.Value());
  }

 private:
  PromiseWorker(Napi::Env env, std::vector<Napi::Value> keep, Work work, Done done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {
    for (auto& v : keep) if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::vector<Napi::ObjectReference> refs_;
  const char* code_ = nullptr;
};

// Runs `fn` synchronously, turning C++ exceptions into JS exceptions.
template <typename F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try { return fn(); }
  catch (const Napi::Error&) { throw; }
  catch (const std::bad_alloc&) { throw Napi::Error::New(env, "out of memory: the native runtime could not allocate the memory this call needs"); }
  catch (const std::exception& e) { throw Napi::Error::New(env, e.what()); }
}

}  // namespace rwkv::napi

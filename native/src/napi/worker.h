// Running native work for JavaScript: on a libuv worker thread behind a Promise (PromiseWorker) or
// inline (guard), turning C++ errors into JS errors (AbortError for a cancelled call).
#pragma once
#include <napi.h>

#include <functional>
#include <new>
#include <string>
#include <vector>

#include "core/errors.h"

namespace rwkv::napi {

constexpr const char* kOutOfMemory = "out of memory: the native runtime could not allocate the memory this call needs";

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
    try {
      work_();
    } catch (const Cancelled&) {
      code_ = "ABORT_ERR";
      SetError("The operation was aborted");
    } catch (const std::bad_alloc&) {
      code_ = "ERR_RWKV_OOM";
      SetError(kOutOfMemory);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
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
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, kOutOfMemory);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace rwkv::napi

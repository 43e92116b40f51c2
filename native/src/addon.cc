// The addon's entry point: every binding file registers itself (napi/registry.h).
#include <napi.h>

#include <vector>

#include "napi/registry.h"

namespace rwkv::napi {

static std::vector<RegisterFn>& registry() { static std::vector<RegisterFn> r; return r; }
Registrar::Registrar(RegisterFn fn) { registry().push_back(fn); }
void register_all(Napi::Env env, Napi::Object exports) { for (auto fn : registry()) fn(env, exports); }

}  // namespace rwkv::napi

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  rwkv::napi::register_all(env, exports);
  return exports;
}

NODE_API_MODULE(rwkv_native, Init)

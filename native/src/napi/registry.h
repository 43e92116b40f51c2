// Each binding file registers its exports with RWKV_NAPI_REGISTER(fn); addon.cc calls them all,
// so binding files can be added without editing a central list.
#pragma once
#include <napi.h>

namespace rwkv::napi {

using RegisterFn = void (*)(Napi::Env, Napi::Object);
struct Registrar { explicit Registrar(RegisterFn fn); };
void register_all(Napi::Env env, Napi::Object exports);

}  // namespace rwkv::napi

#define RWKV_NAPI_REGISTER(fn) static ::rwkv::napi::Registrar rwkv_registrar_##fn(fn)

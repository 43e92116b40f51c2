#include "cpu/wkv_impl.h"

#include <cstdlib>

#include "cpu/tensor.h"

namespace rwkv {

const char* wkv_impl_name(WkvImpl impl) {
  switch (impl) {
    case WkvImpl::Auto: return "auto";
    case WkvImpl::Reference: return "reference";
    case WkvImpl::Sequential: return "sequential";
    case WkvImpl::Chunked: return "chunked";
  }
  return "?";
}

bool parse_wkv_impl(const std::string& name, WkvImpl* out) {
  for (WkvImpl i : {WkvImpl::Auto, WkvImpl::Reference, WkvImpl::Sequential, WkvImpl::Chunked})
    if (name == wkv_impl_name(i)) { *out = i; return true; }
  return false;
}

WkvImpl wkv_resolve(WkvImpl asked, long pairs, int T, int N) {
  if (asked != WkvImpl::Auto) return asked;
  static const WkvImpl forced = [] {
    WkvImpl f = WkvImpl::Auto;
    const char* env = std::getenv("RWKV_WKV");
    if (env && *env && !parse_wkv_impl(env, &f))
      throw RwkvError(std::string("RWKV_WKV=") + env +
                      " is not a WKV implementation (use reference, sequential or chunked)");
    return f;
  }();
  if (forced != WkvImpl::Auto) return forced;
  (void)pairs; (void)T; (void)N;
  return WkvImpl::Sequential;
}

}  // namespace rwkv

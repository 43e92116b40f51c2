#include "cpu/wkv_impl.h"

#include <cstdlib>

#include "cpu/isa.h"
#include "cpu/tensor.h"
#include "cpu/wkv_kernels.h"

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

namespace {

WkvImpl env_impl() {
  static const WkvImpl forced = [] {
    WkvImpl f = WkvImpl::Auto;
    const char* env = std::getenv("RWKV_WKV");
    if (env && *env && (!parse_wkv_impl(env, &f) || f == WkvImpl::Auto))
      throw RwkvError(std::string("RWKV_WKV=") + env +
                      " is not a WKV implementation (use reference, sequential or chunked)");
    return f;
  }();
  return forced;
}

}  // namespace

WkvImpl wkv_choose(WkvImpl asked, WkvOp op, int T, int N) {
  if (!wkv::kernels(active_isa()).supports(N)) return WkvImpl::Reference;
  if (asked != WkvImpl::Auto) return asked;
  if (const WkvImpl forced = env_impl(); forced != WkvImpl::Auto) return forced;
  // The rule, measured with bench/wkv.ts at the 0.1B shape (bench/RESULTS.md, "WKV variants"):
  // - Forwards run sequentially: a step costs 5N² (v7) or 3N² (v6) FMAs either way, and the step
  //   loop keeps the state in L1 while the chunk form adds its L×L products and decay passes
  //   (v7 2.3 vs 3.5 ms, v6 1.4 vs 6.3 ms per call on AVX-512). The sequential forward also splits
  //   value channels into slabs, so it keeps every thread busy when B·H is small (the backwards
  //   spread (sequence, head) pairs only, whichever variant runs).
  // - The RWKV-7 backward runs in chunks once there is a whole chunk: it replaces the step loop's
  //   state rebuild and per-row lane sums with matrix products (11.1 vs 14.4 ms on AVX-512; level
  //   with the step loop on AVX2 and portable).
  // - The RWKV-6 backward runs sequentially: its chunk form is faster (5.3 vs 7.9 ms) but derives
  //   ∂L/∂w as ∂L/∂ln w / w, which loses digits where decays are small, and the gain is ~1% of
  //   a tuning step.
  return op == WkvOp::V7Backward && T >= wkv::kChunk ? WkvImpl::Chunked : WkvImpl::Sequential;
}

}  // namespace rwkv

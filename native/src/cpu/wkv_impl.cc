#include "cpu/wkv_impl.h"

#include <cstdlib>

#include "cpu/isa.h"
#include "core/errors.h"
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
  // The rule, measured with bench/wkv.ts at the 0.1B shape (B1 T512 H12 N64; CPU ms per call,
  // bench/RESULTS.md "WKV variants"):
  // - Forwards run step by step. The chunk form does no fewer FMAs per step (v7: 4N² + 7·16·N
  //   against 5N²) and adds decay passes and 16×16 products, while the step loop keeps its state in
  //   L1 (AVX-512: v7 2.1 vs 3.7 ms, v6 1.6 vs 3.4 ms). The sequential forward also splits value
  //   channels into slabs, which keeps every thread busy when B·H is small.
  // - The RWKV-7 backward runs in chunks (given a whole chunk) where the vectors are wide enough
  //   for its register-tiled products: AVX-512 11.4 vs 15.4 ms, AVX2 22.1 vs 22.8-24.1 ms;
  //   the portable (SSE) path is faster step by step (37 vs 40 ms). Given the forward's saves
  //   (training: the chunk form then skips its own forward pass) chunks win on every path:
  //   AVX-512 7.2 vs 11.2 ms, AVX2 13.8 vs 16.6 ms, portable 24.4 vs 27.4 ms (1 thread, 2026-12-04).
  // - The RWKV-6 backward runs step by step: its chunk form is faster (5.0 vs 8.6 ms) but derives
  //   ∂L/∂w as ∂L/∂ln w / w, which keeps fewer digits where decays are small, and the gain is
  //   under 1% of a tuning step.
  const bool wide = active_isa() != Isa::Portable;
  const bool chunked = op == WkvOp::V7BackwardSaved || (op == WkvOp::V7Backward && wide);
  return chunked && T >= wkv::kChunk ? WkvImpl::Chunked : WkvImpl::Sequential;
}

}  // namespace rwkv

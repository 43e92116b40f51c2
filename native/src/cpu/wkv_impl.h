// Which implementation of the WKV recurrences (cpu/wkv7.h, cpu/wkv6.h) a call runs. Every variant
// computes the same function; they differ in speed and in rounding only.
//   Reference:  the plain sequential loops, the ground truth every other variant is tested against.
//   Sequential: the same recurrence, one step at a time, with the state held in the layout that
//               keeps every inner loop a run of FMAs (per SIMD path, see cpu/isa.h).
//   Chunked:    16 steps at a time as small matrix products (the chunk form of fla's kernels),
//               carrying the state from chunk to chunk.
//   Auto:       the rule in wkv_impl.cc: the faster one as measured at the 0.1B shape, except where
//               the faster one loses digits (RWKV-6's chunked backward: see cpu/wkv6.h).
// RWKV_WKV=reference|sequential|chunked forces one for every call that asks for Auto.
#pragma once
#include <string>

namespace rwkv {

enum class WkvImpl : int { Auto = 0, Reference = 1, Sequential = 2, Chunked = 3 };

const char* wkv_impl_name(WkvImpl impl);  // "auto", "reference", "sequential", "chunked"
bool parse_wkv_impl(const std::string& name, WkvImpl* out);

// V7BackwardSaved: an RWKV-7 backward given what its forward saved (cpu/wkv7.h), as training runs it.
enum class WkvOp : int { V7Forward, V7Backward, V7BackwardSaved, V6Forward, V6Backward };

// The variant a call of `op` over T steps with head size N runs on the active SIMD path: `asked`
// unless Auto; for Auto, RWKV_WKV when set (an unknown value throws RwkvError), else the rule in
// wkv_impl.cc. Reference wherever the path has no kernel for N. Never Auto.
WkvImpl wkv_choose(WkvImpl asked, WkvOp op, int T, int N);

}  // namespace rwkv

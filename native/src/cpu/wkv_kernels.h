// Internal to cpu/wkv7.cc and cpu/wkv6.cc: the fast WKV kernels of one SIMD path (cpu/isa.h), one
// (sequence, head) pair per call. They are compiled once per path from one source
// (wkv_kernels.inc), so the three paths are the same code at different vector widths.
//
// Layouts: the external state is [value i][key j] (docs/spec.md §0.3). A forward step reads and writes the
// state along the value axis with the key channel's scalars broadcast (so it is kept as [key][value]
// inside), a backward step reduces mostly over the value axis (so it works on [value][key]).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "cpu/isa.h"
#include "cpu/wkv7.h"

namespace rwkv::wkv {

// Steps per chunk, both for the chunk form and for the backward's state checkpoints.
constexpr int kChunk = 16;
static_assert(kChunk == kWkv7Chunk, "the v7 kernels checkpoint at the chunk boundaries");

// One (sequence, head) pair: row t of each input starts at x + base + t·C and holds N channels.
struct Wkv7Head {
  int T, N;
  long C, base;
  Wkv7In in;
};
struct Wkv6Head {
  int T, N;
  long C, base;
  const float *r, *k, *v, *w;  // w = decay values
  const float* u;              // this head's N bonus values
};

struct Kernels {
  // Value channels one sequential forward task handles (a divisor of N), or 0 when this path has
  // no kernel for head size N (the caller then runs the reference).
  int (*forward_slab)(int N);
  // Whether the backward and chunked kernels take head size N.
  bool (*supports)(int N);

  // decay[x] = exp(−exp(w_hat[x])) for x < n (RWKV-7's per-step decay from its log-log input).
  void (*v7_decay)(long n, const float* w_hat, float* decay);
  // One step (T = 1, no saves) of the whole head, in place on its state [N][N] (a supported N);
  // decay as for v7_forward_seq.
  void (*v7_step)(const Wkv7Head& h, const float* decay, float* state, float* y);
  // Value channels [i0, i0 + forward_slab(N)) of the head: state [N][N] in → out, y rows written.
  // decay: v7_decay of the call's w at the same offsets as the inputs. saved: null, or this head's
  // part of cpu/wkv7.h's saved layout (sa rows, then checkpoints), its channels [i0, …) written.
  void (*v7_forward_seq)(const Wkv7Head& h, int i0, const float* decay, float* state, float* y, float* saved);
  void (*v7_forward_chunked)(const Wkv7Head& h, float* state, float* y, float* saved);
  // Gradients of one head (the contract of cpu/wkv7.h) from this head's part of what its forward
  // saved (it holds the initial state as the first checkpoint); dsT may be null.
  void (*v7_backward_seq)(const Wkv7Head& h, const float* dy, const float* dsT, const Wkv7Grad& g, float* ds0,
                          const float* saved);
  void (*v7_backward_chunked)(const Wkv7Head& h, const float* dy, const float* dsT, const Wkv7Grad& g, float* ds0,
                              const float* saved);

  // ck: null or this head's checkpoints [chunks][N][N] (the state before each chunk), written.
  void (*v6_forward_seq)(const Wkv6Head& h, int i0, float* state, float* y, float* ck);
  void (*v6_forward_chunked)(const Wkv6Head& h, float* state, float* y, float* ck);
  // G: ∂L/∂S_T in, ∂L/∂s0 out. Null dr/dk/dv/dw are not written; du (N) is added to when not null.
  void (*v6_backward_seq)(const Wkv6Head& h, const float* ck, const float* dy, float* G, float* dr, float* dk,
                          float* dv, float* dw, float* du);
  void (*v6_backward_chunked)(const Wkv6Head& h, const float* ck, const float* dy, float* G, float* dr, float* dk,
                              float* dv, float* dw, float* du);
};

// WKV_SCRATCH(name, n): float* name → n floats of scratch owned by this call site and thread, kept
// from call to call (grow-only, not zeroed, 64-byte aligned). The kernels run again and again on
// buffers of the same sizes, and a fresh allocation of this size would be an mmap whose pages fault
// and are zeroed on every call (that was half of the backward's time). The price: each thread keeps
// its largest call's buffers, for a backward about T·(N²/16 + 3N) floats per variant (512 KiB at
// T = 512, N = 64).
class Scratch {
 public:
  float* get(size_t n) {
    if (n > cap_) {
      mem_.reset(new float[n + 16]);
      cap_ = n;
    }
    const uintptr_t a = reinterpret_cast<uintptr_t>(mem_.get());
    return mem_.get() + ((64 - a % 64) % 64) / sizeof(float);
  }

 private:
  std::unique_ptr<float[]> mem_;
  size_t cap_ = 0;
};
#define WKV_SCRATCH(name, n)               \
  static thread_local ::rwkv::wkv::Scratch name##_mem; \
  float* const name = name##_mem.get(n)

// The kernels of a path; only call with a path the CPU supports (isa_supported).
const Kernels& kernels(Isa isa);

}  // namespace rwkv::wkv

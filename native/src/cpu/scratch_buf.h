// The CPU layers' temporaries: std::vector<float> whose big blocks come back from a process-wide
// cache of freed blocks rather than from malloc. Why: glibc gives libuv's worker threads arenas of
// their own and hands their freed memory back to the OS, so every training step page-faulted its
// temporaries in again (0.1B step, measured: ~117k minor faults, 1.4 of 4.4 CPU-seconds; blocks of
// 32–256 KiB kept as well took a step from 5.4k faults to 3.6k). A call frees blocks of the sizes
// the next one asks for, so blocks are kept by exact size (these ≥ 32 KiB; smaller ones below), up
// to kScratchCacheBytes in all; past that a freed block is released. The cap holds a 0.1B ctx-512
// step's kept activations with what its WKV forward saves for the backward (~450 MB) and its
// temporaries: at 512 MiB part of them went back to the OS each step and faulted in again (~2×
// the faults, +0.05 s a step).
// Smaller blocks are kept too, per thread and by exact size, up to kSmallCacheBlocks a thread: RNN
// mode asks for ~350 of a few KB every token, and malloc handed back blocks at other addresses,
// whose lines the token's weight stream had pushed out of the caches, so each temporary missed as it
// was first written; the same blocks again are still in cache (0.1B bf16 decode on the Zen 4 VM,
// three runs of 150 paired rounds: 0.35 ± 0.04, 0.18 ± 0.03 and 0.10 ± 0.03 ms a token faster).
#pragma once
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace rwkv {

constexpr size_t kScratchCacheBytes = size_t(1024) << 20;
constexpr size_t kSmallCacheBlocks = 64;  // each under 32 KiB: at most 2 MiB a thread

// A cached block of exactly `bytes`, or nullptr; give back: keep it (or free it past the caps).
void* scratch_take(size_t bytes);
// A new block: big ones advised onto huge pages, cacheable ones kept out of forked children
// (core/host_memory.h).
void* scratch_new(size_t bytes);
// A block to hand out: a cached one of this size, else a new one. Under RWKV_SCRATCH_POISON=1 it is
// filled with NaN bits first, so that a buffer read before it is written shows up in the results
// (the tests run this way).
void* scratch_alloc(size_t bytes);
void scratch_give(void* p, size_t bytes);
// Frees every block of the shared cache (a model's dispose); the threads' small blocks, 2 MiB a
// thread at most, stay with their threads.
void scratch_release();

template <typename T>
struct ScratchAllocator {
  using value_type = T;
  ScratchAllocator() = default;
  template <typename U>
  ScratchAllocator(const ScratchAllocator<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(scratch_alloc(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) { scratch_give(p, n * sizeof(T)); }
  // Buf(n) and resize(n) leave the floats unset (most temporaries are outputs: zeroing them was 7%
  // of a tuning step); Buf(n, 0.f) still fills.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const ScratchAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const ScratchAllocator<U>&) const { return false; }
};

using ScratchBuf = std::vector<float, ScratchAllocator<float>>;

}  // namespace rwkv

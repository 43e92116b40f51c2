#include "cpu/scratch_buf.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "core/host_memory.h"

namespace rwkv {
namespace {

constexpr size_t kMinCached = size_t(32) << 10;

// Blocks of a huge page or more start on a huge-page boundary, so that all their whole 2 MiB are
// huge pages: a [L,H,N,N] state array of the 0.1B shape (2.4 MB) then faults in 93 pages, not 576.
// Smaller ones start on a cache line, so that a kernel's aligned rows load whole lines: the GEMV's
// operand row (a few KB) came from malloc 16 bytes off, and every 64-byte load of it split over two
// lines, which halved the bf16 GEMV (Zen 5: 21 → 37 GB/s a thread, 41 → 62 GB/s on two).
std::align_val_t block_alignment(size_t bytes) {
  return std::align_val_t(bytes >= kHugePageBytes ? kHugePageBytes : size_t(64));
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> blocks;  // by size
  size_t bytes = 0;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: blocks may be given back during static destruction
  return *c;
}

// This thread's small blocks (under kMinCached), newest last; freed with the thread. A buffer freed
// after that, by another thread-local object's destructor, goes straight back to the allocator:
// t_small_gone, a plain bool, is never destroyed.
thread_local bool t_small_gone = false;
struct SmallCache {
  std::vector<std::pair<size_t, void*>> blocks;
  ~SmallCache() {
    t_small_gone = true;
    for (auto& [bytes, p] : blocks) ::operator delete(p, block_alignment(bytes));
  }
};
thread_local SmallCache t_small;

// Back to the allocator, which may hand the memory to code that a child process does need.
void release(void* p, size_t bytes) {
  if (bytes >= kMinCached) advise_no_fork(p, bytes, false);
  ::operator delete(p, block_alignment(bytes));
}

}  // namespace

void* scratch_take(size_t bytes) {
  if (bytes < kMinCached) {
    if (t_small_gone) return nullptr;
    auto& v = t_small.blocks;
    for (size_t i = v.size(); i-- > 0;)  // the newest first: the likeliest to be in cache
      if (v[i].first == bytes) {
        void* p = v[i].second;
        v.erase(v.begin() + long(i));
        return p;
      }
    return nullptr;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const auto it = c.blocks.find(bytes);
  if (it == c.blocks.end()) return nullptr;
  void* p = it->second;
  c.blocks.erase(it);
  c.bytes -= bytes;
  return p;
}

void* scratch_new(size_t bytes) {
  void* p = ::operator new(bytes, block_alignment(bytes));
  advise_huge_pages(p, bytes);
  if (bytes >= kMinCached) advise_no_fork(p, bytes, true);
  return p;
}

void* scratch_alloc(size_t bytes) {
  static const bool poison = [] {
    const char* e = std::getenv("RWKV_SCRATCH_POISON");
    return e && *e && *e != '0';
  }();
  void* p = scratch_take(bytes);
  if (!p) p = scratch_new(bytes);
  if (poison) std::memset(p, 0xff, bytes);
  return p;
}

void scratch_give(void* p, size_t bytes) {
  if (bytes < kMinCached && !t_small_gone && t_small.blocks.size() < kSmallCacheBlocks) {
    t_small.blocks.emplace_back(bytes, p);
    return;
  }
  if (bytes >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.bytes + bytes <= kScratchCacheBytes) {
      c.blocks.emplace(bytes, p);
      c.bytes += bytes;
      return;
    }
  }
  release(p, bytes);
}

void scratch_release() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [bytes, p] : c.blocks) release(p, bytes);
  c.blocks.clear();
  c.bytes = 0;
}

}  // namespace rwkv

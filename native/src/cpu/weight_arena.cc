#include "cpu/weight_arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <new>

#include "core/host_memory.h"
#include "cpu/threadpool.h"

namespace rwkv {
namespace {

constexpr size_t kBlockBytes = size_t(64) << 20;  // small matrices (LoRAs) share blocks
constexpr size_t kAlign = 64;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

WeightArena::~WeightArena() {
  for (Block& b : blocks_) std::free(b.data);
}

char* WeightArena::take(size_t bytes) {
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < bytes) {
    const size_t size = std::max(kBlockBytes, round_up(bytes, kHugePageBytes));
    char* data = static_cast<char*>(std::aligned_alloc(kHugePageBytes, size));
    if (!data) throw std::bad_alloc();
    advise_huge_pages(data, size);  // before the first write, which allocates the pages
    blocks_.push_back({data, size, 0});
  }
  Block& b = blocks_.back();
  char* dst = b.data + b.used;
  b.used = round_up(b.used + bytes, kAlign);
  return dst;
}

const void* WeightArena::copy(const void* src, size_t bytes) {
  char* dst = take(bytes);
  // Both threads: the copy's cost is mostly the kernel zeroing the fresh pages as they are first
  // written (0.66 s for the 0.1B model's 282 MB on one thread of the Zen 4 VM).
  const char* from = static_cast<const char*>(src);
  parallel_for(long((bytes + kHugePageBytes - 1) / kHugePageBytes), [&](long c0, long c1) {
    const size_t a = size_t(c0) * kHugePageBytes, b = std::min(bytes, size_t(c1) * kHugePageBytes);
    std::memcpy(dst + a, from + a, b - a);
  }, 2);
  release_file_pages(src, bytes);
  return dst;
}

const void* WeightArena::copy_transposed(const void* src, int rows, int cols, size_t elem) {
  const size_t bytes = size_t(rows) * cols * elem;
  char* dst = take(bytes);
  // Only small matrices (LoRAs) come here: a plain loop will do.
  const auto transpose = [&](auto tag) {
    using T = decltype(tag);
    const T* from = static_cast<const T*>(src);
    T* to = reinterpret_cast<T*>(dst);
    for (int c = 0; c < cols; ++c)
      for (int r = 0; r < rows; ++r) to[size_t(c) * rows + r] = from[size_t(r) * cols + c];
  };
  if (elem == 2) transpose(uint16_t{});
  else if (elem == 4) transpose(uint32_t{});
  else throw std::invalid_argument("WeightArena::copy_transposed: elements of 2 or 4 bytes");
  release_file_pages(src, bytes);
  return dst;
}

}  // namespace rwkv

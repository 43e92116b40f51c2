#include "core/host_memory.h"

#include <algorithm>
#include <cstdint>
#include <vector>
#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace rwkv {
namespace {

// The whole `page`-sized pages inside [p, p + bytes): [begin, end), empty when end <= begin.
struct Pages {
  uintptr_t begin, end;
};
Pages whole_pages(const void* p, size_t bytes, uintptr_t page) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return {(a + page - 1) & ~(page - 1), (a + bytes) & ~(page - 1)};
}

// madvise over the whole `page`-sized pages inside [p, p + bytes); errors are ignored (hints).
void advise_inside(void* p, size_t bytes, uintptr_t page, int advice) {
#if defined(__linux__)
  const Pages r = whole_pages(p, bytes, page);
  if (r.end > r.begin) madvise(reinterpret_cast<void*>(r.begin), r.end - r.begin, advice);
#else
  (void)p, (void)bytes, (void)page, (void)advice;
#endif
}

}  // namespace

void advise_huge_pages(void* p, size_t bytes) {
#if defined(MADV_HUGEPAGE)
  if (p && bytes >= kHugePageBytes) advise_inside(p, bytes, kHugePageBytes, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

void release_file_pages(const void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_DONTNEED)
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const auto [begin, end] = whole_pages(p, bytes, page);
  if (!p || end <= begin) return;
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  // pagemap: 8 bytes per page; bit 63 present, bit 61 file page (or shared anonymous).
  constexpr uint64_t kPresent = uint64_t(1) << 63, kFile = uint64_t(1) << 61;
  constexpr size_t kBatch = 4096;  // pages per read
  std::vector<uint64_t> flags(kBatch);
  uintptr_t run = 0;  // start of the current run of clean file pages, or 0
  const auto flush = [&](uintptr_t at) {
    if (run) madvise(reinterpret_cast<void*>(run), at - run, MADV_DONTNEED);
    run = 0;
  };
  uintptr_t a = begin;
  while (a < end) {
    const size_t n = std::min<size_t>(kBatch, (end - a) / page);
    if (pread(fd, flags.data(), n * 8, off_t(a / page * 8)) != ssize_t(n * 8)) break;
    for (size_t i = 0; i < n; ++i, a += page) {
      const bool clean_file = (flags[i] & kPresent) && (flags[i] & kFile);
      if (clean_file && !run) run = a;
      if (!clean_file) flush(a);
    }
  }
  flush(a);
  close(fd);
#else
  (void)p, (void)bytes;
#endif
}

void advise_no_fork(void* p, size_t bytes, bool on) {
#if defined(MADV_DONTFORK)
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  if (p) advise_inside(p, bytes, page, on ? MADV_DONTFORK : MADV_DOFORK);
#else
  (void)p, (void)bytes, (void)on;
#endif
}

}  // namespace rwkv

#include "core/host_memory.h"

#include <cstdint>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace rwkv {
namespace {

// madvise over the whole `page`-sized pages inside [p, p + bytes); errors are ignored (hints).
void advise_inside(void* p, size_t bytes, uintptr_t page, int advice) {
#if defined(__linux__)
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, advice);
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

void advise_no_fork(void* p, size_t bytes, bool on) {
#if defined(MADV_DONTFORK)
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  if (p) advise_inside(p, bytes, page, on ? MADV_DONTFORK : MADV_DOFORK);
#else
  (void)p, (void)bytes, (void)on;
#endif
}

}  // namespace rwkv

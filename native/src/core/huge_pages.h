// Big host buffers on 2 MiB pages where the kernel allows it (transparent huge pages in "madvise"
// mode, Debian's default). Why: the first write to each 4 KiB page is a page fault, and on some
// virtual machines a fault costs ~12 µs (measured on the Zen 5 development VM: first touch of
// 128 MiB took 416 ms on 4 KiB pages, 9 ms on 2 MiB pages), so 512 tokens of logits (134 MB)
// cost more in faults than their head GEMM. A hint only: without THP nothing changes.
#pragma once
#include <cstddef>

namespace rwkv {

// Buffers below this are left alone: too few whole 2 MiB pages inside to matter.
constexpr size_t kHugePageMinBytes = size_t(4) << 20;

// Advises the whole 2 MiB pages inside [p, p + bytes) to be huge pages when first touched. Pages
// already touched keep their size. Call it before the first write.
void advise_huge_pages(void* p, size_t bytes);

}  // namespace rwkv

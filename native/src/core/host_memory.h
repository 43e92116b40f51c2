// Hints to the kernel about big host buffers, both measured on the Zen 5 development VM, where a
// page fault costs ~12 µs:
//  - huge pages: the first write to each 4 KiB page is a fault; first touch of 128 MiB took 416 ms
//    on 4 KiB pages and 9 ms on 2 MiB pages, so 512 tokens of logits (134 MB) cost more in faults
//    than their head GEMM (transparent huge pages in "madvise" mode, Debian's default);
//  - no fork: spawning any child process write-protects the parent's pages for copy-on-write, and
//    the next write to each page faults again (a 0.1B forward after a child process was spawned:
//    35k faults and +0.3 s). The CPU layers' temporaries are never needed in a child.
// Hints only: where the kernel lacks them nothing changes.
#pragma once
#include <cstddef>

namespace rwkv {

// A huge page; buffers smaller than one are left alone. Callers that want every whole 2 MiB of a
// buffer to be huge allocate it on a kHugePageBytes boundary (cpu/scratch_buf.cc).
constexpr size_t kHugePageBytes = size_t(2) << 20;

// Advises the whole 2 MiB pages inside [p, p + bytes) to be huge pages when first touched. Pages
// already touched keep their size. Call it before the first write.
void advise_huge_pages(void* p, size_t bytes);

// Keeps the whole pages inside [p, p + bytes) out of forked children (on = true), or undoes it
// before the memory goes back to the allocator (on = false).
void advise_no_fork(void* p, size_t bytes, bool on);

// Drops from this process's memory the whole pages inside [p, p + bytes) that are clean pages of a
// file mapping (the kernel reads them again from the page cache if they are touched). Pages of
// anonymous memory, and private pages something wrote to, are kept: their contents exist nowhere
// else. Used once a checkpoint's weights have been copied out of its mapping, so that they are not
// counted twice. Reads /proc/self/pagemap; where it cannot, nothing is dropped.
void release_file_pages(const void* p, size_t bytes);

}  // namespace rwkv

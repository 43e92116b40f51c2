// One process-wide pool of worker threads (sized to the machine) for the CPU kernels.
// Heavy N-API calls run on libuv's worker thread and fan out here.
#pragma once
#include <functional>

namespace rwkv {

// Number of threads the kernels use (RWKV_THREADS env, else hardware concurrency).
int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel; returns when all are done.
// Work items smaller than `grain` are not split further. Safe to call from one thread at a time
// per pool user; nested calls run serially. The first exception thrown by fn is rethrown here once
// every range has ended. Idle workers spin ~200 µs before sleeping, so back-to-back calls (RNN mode)
// cost about a microsecond each instead of a futex wake-up.
void parallel_for(long n, const std::function<void(long, long)>& fn, long grain = 1);

}  // namespace rwkv

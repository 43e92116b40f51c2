// Row-parallel loops for the per-token work of a layer: rows are tokens (M = B·T rows of a call),
// independent of one another, so any split over the thread pool gives the same result.
#pragma once
#include "cpu/threadpool.h"

namespace rwkv {

// parallel_for grains of the layers' passes: rows of [M, C] (tokens), and elements.
constexpr long kRowGrain = 8, kElemGrain = 4096;

// fn(m) for every row m in [0, M), in parallel.
template <typename F>
void for_rows(long M, F&& fn) {
  parallel_for(M, [&](long m0, long m1) { for (long m = m0; m < m1; ++m) fn(m); }, kRowGrain);
}

}  // namespace rwkv

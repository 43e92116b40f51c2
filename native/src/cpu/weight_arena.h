// The CPU backend's own copy of a checkpoint's matrices, on 2 MiB pages. Why: RNN mode streams
// every weight once a token, and a stream over 4 KiB pages takes a TLB miss every 4 KiB (69k a
// token for the 0.1B model). On the 2-vCPU Zen 4 VM the 0.1B bf16 decode took 8.8–9.5 ms a token
// from the copy against 9.1–11.3 from the checkpoint's mapping (six paired runs, 1–16% faster each,
// 5% at the median; bench/RESULTS.md). Each matrix's pages in the mapping are released once copied
// (core/host_memory.h), so the weights are held once.
#pragma once
#include <cstddef>
#include <vector>

namespace rwkv {

class WeightArena {
 public:
  WeightArena() = default;
  ~WeightArena();
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;

  // A copy of [src, src + bytes) on a cache line, alive as long as the arena.
  const void* copy(const void* src, size_t bytes);
  // The [cols, rows] transpose of a row-major [rows, cols] matrix of `elem`-byte values, likewise.
  const void* copy_transposed(const void* src, int rows, int cols, size_t elem);

 private:
  char* take(size_t bytes);  // room for `bytes` on a cache line in the last block, or a new one
  struct Block {
    char* data;
    size_t size, used;
  };
  std::vector<Block> blocks_;  // the last one takes the next copy while it fits
};

}  // namespace rwkv

// The CPU backend's own copy of a checkpoint's matrices, on 2 MiB pages. Why: RNN mode streams
// every weight once a token, and a stream over 4 KiB pages takes a TLB miss every 4 KiB (69k a
// token for the 0.1B model). On the 2-vCPU Zen 4 VM the 0.1B bf16 decode took 9.2–10.6 ms a token
// from the copy against 10.4–11.0 from the checkpoint's mapping (five paired runs). Each matrix's
// pages in the mapping are released once copied (core/host_memory.h), so the weights are held once.
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

 private:
  struct Block {
    char* data;
    size_t size, used;
  };
  std::vector<Block> blocks_;  // the last one takes the next copy while it fits
};

}  // namespace rwkv

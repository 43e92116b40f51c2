// A frozen matrix on the GPU, as stored in the checkpoint ([rows, cols] row-major): bf16, or
// quantised in blocks of 64 consecutive elements with one fp32 absmax each (docs/spec.md §3.9).
#pragma once
#include <cstdint>

#include "cuda/backend.h"
#include "cuda/common.cuh"

namespace rwkv::cuda {

constexpr int kQuantBlock = 64;

struct DeviceWeight {
  Quant kind = Quant::None;
  int rows = 0, cols = 0;
  const __nv_bfloat16* bf16 = nullptr;  // kind == None
  const uint8_t* codes = nullptr;       // NF4: two 4-bit codes per byte (even index = low nibble); Int8: int8
  const float* absmax = nullptr;        // one per block of kQuantBlock elements
};

__constant__ static const float kNf4Levels[16] = {
    -1.f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.f};

// Element `idx` (row·cols + col) of the weight, dequantised to fp32.
__device__ __forceinline__ float weight_at(const DeviceWeight& w, long idx) {
  switch (w.kind) {
    case Quant::NF4: {
      const uint8_t byte = w.codes[idx >> 1];
      const int code = (idx & 1) ? (byte >> 4) : (byte & 15);
      return kNf4Levels[code] * w.absmax[idx / kQuantBlock];
    }
    case Quant::Int8:
      return float(int8_t(w.codes[idx])) * (w.absmax[idx / kQuantBlock] * (1.f / 127.f));
    default:
      return __bfloat162float(w.bf16[idx]);
  }
}

}  // namespace rwkv::cuda

// nf4 / int8 quantisation of frozen bf16 matrices on the GPU (docs/spec.md §3.9): blocks of 64 row-major
// elements, one fp32 absmax each. NF4 picks the nearest of the 16 NF4 levels of x/absmax; int8
// stores round(127·x/absmax) (blockwise linear, not bitsandbytes' dynamic map: bit-exactness with
// bitsandbytes is not required, and the smaller blocks only reduce the error).
#pragma once
#include "cuda/device_weight.cuh"

namespace rwkv::cuda {

// Quantises src [rows, cols] into `codes` and `absmax` (resized here) and returns the view.
DeviceWeight quantize(const __nv_bfloat16* src, int rows, int cols, Quant kind, DeviceBuffer<uint8_t>& codes,
                      DeviceBuffer<float>& absmax, cudaStream_t stream);

// out [rows, cols] = the weight dequantised to bf16 (the values the WMMA kernel multiplies).
void dequantize(const DeviceWeight& w, __nv_bfloat16* out, cudaStream_t stream);

}  // namespace rwkv::cuda

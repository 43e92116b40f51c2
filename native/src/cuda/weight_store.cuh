// Uploads checkpoint tensors to the GPU once: per-channel vectors as fp32, matrices as bf16
// (optionally quantised to nf4/int8). Owns every allocation it hands out.
#pragma once
#include <deque>

#include "cuda/device_weight.cuh"

namespace rwkv::cuda {

class WeightStore {
 public:
  explicit WeightStore(cudaStream_t s) : s_(s) {}
  // A vector of numel n (any leading singleton dims) as fp32.
  const float* vec(const TensorView& t);
  // A 2-D matrix [rows, cols] as bf16, or quantised when q != None.
  DeviceWeight matrix(const TensorView& t, Quant q = Quant::None);
  const __nv_bfloat16* bf16(const TensorView& t);

 private:
  cudaStream_t s_;
  std::deque<DeviceBuffer<float>> f32_;
  std::deque<DeviceBuffer<__nv_bfloat16>> bf16_;
  std::deque<DeviceBuffer<uint8_t>> codes_;
};

}  // namespace rwkv::cuda

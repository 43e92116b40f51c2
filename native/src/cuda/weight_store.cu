#include <vector>

#include "cuda/quant.cuh"
#include "cuda/weight_store.cuh"

namespace rwkv::cuda {

const float* WeightStore::vec(const TensorView& t) {
  const std::vector<float> host = t.to_f32();
  f32_.emplace_back(host.size());
  check(cudaMemcpy(f32_.back().get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), "upload");
  return f32_.back().get();
}

const __nv_bfloat16* WeightStore::bf16(const TensorView& t) {
  const size_t n = size_t(t.numel());
  bf16_.emplace_back(n);
  if (t.dtype == DType::BF16) {  // as stored, without a host copy
    check(cudaMemcpy(bf16_.back().get(), t.data, n * 2, cudaMemcpyHostToDevice), "upload");
  } else {
    const std::vector<uint16_t> host = t.to_bf16();
    check(cudaMemcpy(bf16_.back().get(), host.data(), n * 2, cudaMemcpyHostToDevice), "upload");
  }
  return bf16_.back().get();
}

DeviceWeight WeightStore::matrix(const TensorView& t, Quant q) {
  if (t.shape.size() != 2) throw RwkvError("CUDA model: expected a matrix");
  const int rows = int(t.shape[0]), cols = int(t.shape[1]);
  if (q == Quant::None) {
    DeviceWeight w;
    w.rows = rows; w.cols = cols; w.bf16 = bf16(t);
    return w;
  }
  const __nv_bfloat16* src = bf16(t);  // staged as bf16, quantised, then freed
  codes_.emplace_back();
  f32_.emplace_back();
  const DeviceWeight w = quantize(src, rows, cols, q, codes_.back(), f32_.back(), s_);
  check(cudaStreamSynchronize(s_), "quantize");
  bf16_.pop_back();
  return w;
}

}  // namespace rwkv::cuda

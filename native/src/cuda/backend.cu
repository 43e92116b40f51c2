// make_model_cuda: checks for a device, then dispatches on the RWKV version.
#include <cuda_runtime.h>

#include <string>

#include "cuda/backend.h"
#include "cuda/device.h"

namespace rwkv::cuda {

std::unique_ptr<rwkv::Model> make_model_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                             const QuantOptions& quant) {
  (void)cfg; (void)tensors; (void)quant;
  std::string why;
  if (devices(&why).empty()) throw RwkvError("CUDA model: no usable CUDA device (" + why + ")");
  throw RwkvError("CUDA model: not implemented yet");
}

MemoryStats memory_stats() { return {}; }
void reset_peak_memory() {}

}  // namespace rwkv::cuda

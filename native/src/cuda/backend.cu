// make_model_cuda: checks for a device, then dispatches on the RWKV version. Also the process-wide
// GPU memory accounting.
#include <atomic>
#include <string>

#include "cuda/backend.h"
#include "cuda/common.cuh"
#include "cuda/device.h"

namespace rwkv::cuda {

std::unique_ptr<rwkv::Model> make_model_v7_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                                const QuantOptions& quant);
std::unique_ptr<rwkv::Model> make_model_v6_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                                const QuantOptions& quant);

namespace {
std::atomic<long> g_bytes{0}, g_peak{0};
}  // namespace

void note_device_bytes(long delta) {
  const long now = g_bytes.fetch_add(delta) + delta;
  long peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {}
}

std::unique_ptr<rwkv::Model> make_model_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                             const QuantOptions& quant) {
  std::string why;
  if (devices(&why).empty()) throw RwkvError("CUDA model: no usable CUDA device (" + why + ")");
  switch (cfg.version) {
    case 7: return make_model_v7_cuda(cfg, tensors, quant);
    case 6: return make_model_v6_cuda(cfg, tensors, quant);
    default: throw RwkvError("CUDA model: unsupported RWKV version " + std::to_string(cfg.version));
  }
}

MemoryStats memory_stats() {
  MemoryStats m;
  std::string why;
  if (!devices(&why).empty()) check(cudaMemGetInfo(&m.free, &m.total), "cudaMemGetInfo");
  m.peak_used = size_t(g_peak.load());
  return m;
}

void reset_peak_memory() { g_peak.store(g_bytes.load()); }

}  // namespace rwkv::cuda

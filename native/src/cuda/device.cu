#include <cuda_runtime.h>

#include "cuda/device.h"

namespace rwkv::cuda {

std::vector<DeviceInfo> devices(std::string* why) {
  std::vector<DeviceInfo> out;
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (why) *why = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky "no device" error
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.push_back({i, p.name, p.totalGlobalMem, p.major, p.minor});
  }
  if (out.empty() && why) *why = "no CUDA device found";
  return out;
}

int runtime_version() { int v = 0; cudaRuntimeGetVersion(&v); return v; }

}  // namespace rwkv::cuda

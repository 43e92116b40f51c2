// CUDA device discovery (compiled only with the CUDA backend).
#pragma once
#include <string>
#include <vector>

namespace rwkv::cuda {

struct DeviceInfo { int index; std::string name; size_t total_memory; int major, minor; };

// Devices usable now; empty (with `why` set) when there is no driver or no GPU.
std::vector<DeviceInfo> devices(std::string* why);
int runtime_version();

}  // namespace rwkv::cuda

// cuBLAS, found at run time. The backend's bf16 GEMMs go through cublasGemmEx where a libcublas can be
// loaded, and through its own WMMA kernel otherwise. dlopen rather than linking: one build then works
// with toolkits that ship no cuBLAS (the development machines' has none) and uses the card machine's
// library where it has one. Plain C++ (no CUDA headers), so the bindings can report it.
#pragma once
#include <string>

namespace rwkv::cuda {

// RWKV_CUBLAS = a library path, or "off" for the own kernel; unset: libcublas.so.13, .so.12, .so on the
// loader's path. `detail` is the library loaded and its version, or why none is used.
struct CublasInfo {
  bool loaded = false;
  std::string detail;
};
const CublasInfo& cublas_info();

}  // namespace rwkv::cuda

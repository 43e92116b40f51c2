// Shared CUDA plumbing: error checks that throw RwkvError, an owning device buffer, launch sizes.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/tensor.h"

namespace rwkv::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw RwkvError(std::string("CUDA model: ") + what + ": " + cudaGetErrorString(err));
}
// After a kernel launch: catches bad launch configurations at once (execution errors surface at
// the next synchronising call, which is checked too).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Bytes held by DeviceBuffers now, for memory_stats()' peak (backend.cu).
void note_device_bytes(long delta);

inline int blocks_for(long n, int threads) { return int((n + threads - 1) / threads); }

// Owning, move-only device allocation of n elements of T.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { resize(n); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) { release(); p_ = o.p_; n_ = o.n_; o.p_ = nullptr; o.n_ = 0; }
    return *this;
  }
  // Grows (never shrinks) the allocation; contents are not kept.
  void resize(size_t n) {
    if (n <= n_) return;
    release();
    check(cudaMalloc(&p_, n * sizeof(T)), "cudaMalloc");
    n_ = n;
    note_device_bytes(long(n * sizeof(T)));
  }
  void upload(const T* host, size_t n, cudaStream_t s) {
    resize(n);
    check(cudaMemcpyAsync(p_, host, n * sizeof(T), cudaMemcpyHostToDevice, s), "upload");
  }
  void download(T* host, size_t n, cudaStream_t s) const {
    check(cudaMemcpyAsync(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost, s), "download");
  }
  void zero(size_t n, cudaStream_t s) { zero_range(0, n, s); }
  void zero_range(size_t first, size_t n, cudaStream_t s) {
    check(cudaMemsetAsync(p_ + first, 0, n * sizeof(T), s), "memset");
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  void release() {
    if (p_) { cudaFree(p_); note_device_bytes(-long(n_ * sizeof(T))); }
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Stream-ordered copy of n floats between device buffers.
inline void copy_d2d(float* dst, const float* src, size_t n, cudaStream_t s) {
  check(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s), "copy");
}

__device__ __forceinline__ float sigmoidf_(float x) { return 1.f / (1.f + __expf(-x)); }

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace rwkv::cuda

// time_gemm (backend.h): the GEMM alone on random data, timed with CUDA events.
#include "cuda/backend.h"
#include "cuda/cublas.cuh"
#include "cuda/gemm.cuh"
#include "cuda/quant.cuh"

namespace rwkv::cuda {
namespace {

// Uniform values in [-1, 1) from a 32-bit integer hash of (seed, index): no cuRAND needed.
__global__ void fill_uniform(long n, float* x, unsigned seed) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  unsigned h = unsigned(i) * 0x9E3779B1u ^ seed * 0x85EBCA77u;
  h ^= h >> 16; h *= 0x7FEB352Du; h ^= h >> 15; h *= 0x846CA68Bu; h ^= h >> 16;
  x[i] = float(h >> 8) * (2.f / 16777216.f) - 1.f;
}

// Destroys the events on every path (the calls below may throw).
struct Events {
  cudaEvent_t a{}, b{};
  Events() { check(cudaEventCreate(&a), "cudaEventCreate"); check(cudaEventCreate(&b), "cudaEventCreate"); }
  ~Events() { cudaEventDestroy(a); cudaEventDestroy(b); }
};

}  // namespace

double time_gemm(int M, int N, int K, Quant quant, int reps, TimedGemm what) {
  if (M < 1 || N < 1 || K < 1 || reps < 1) throw RwkvError("time_gemm: sizes and reps must be positive");
  const long na = long(M) * K, nw = long(N) * K;
  DeviceBuffer<float> A{size_t(na)}, Wf{size_t(nw)}, C{size_t(long(M) * N)};
  DeviceBuffer<__nv_bfloat16> Wb{size_t(nw)};
  DeviceBuffer<uint8_t> codes;
  DeviceBuffer<float> absmax;
  fill_uniform<<<blocks_for(na, 256), 256>>>(na, A.get(), 1);
  fill_uniform<<<blocks_for(nw, 256), 256>>>(nw, Wf.get(), 2);
  check_launch("time_gemm fill");
  to_bf16_rows(N, K, Wf.get(), K, Wb.get(), nullptr);
  DeviceWeight W;
  W.rows = N; W.cols = K; W.bf16 = Wb.get();
  if (quant != Quant::None) W = quantize(Wb.get(), N, K, quant, codes, absmax, nullptr);
  DeviceBuffer<__nv_bfloat16> Ab;
  if (what == TimedGemm::Library) {
    if (!cublas_info().loaded || quant != Quant::None)
      throw RwkvError("time_gemm: the library GEMM needs cuBLAS (" + cublas_info().detail + ") and bf16 weights");
    Ab.resize(size_t(na));
    to_bf16_rows(M, K, A.get(), K, Ab.get(), nullptr);
  }
  const auto once = [&] {
    if (what == TimedGemm::Library)
      cublas_gemm(M, N, K, Ab.get(), K, Wb.get(), K, true, C.get(), N, 0.f, nullptr);
    else
      gemm(M, N, K, A.get(), K, W, true, C.get(), N, 0.f, nullptr,
           what == TimedGemm::Own ? GemmImpl::Own : GemmImpl::Auto);
  };
  Events ev;
  once();
  check(cudaEventRecord(ev.a), "cudaEventRecord");
  for (int r = 0; r < reps; ++r) once();
  check(cudaEventRecord(ev.b), "cudaEventRecord");
  check(cudaEventSynchronize(ev.b), "time_gemm");
  float ms = 0.f;
  check(cudaEventElapsedTime(&ms, ev.a, ev.b), "cudaEventElapsedTime");
  return double(ms) / 1e3 / reps;
}

}  // namespace rwkv::cuda

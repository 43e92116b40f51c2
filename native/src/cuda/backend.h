// Entry point of the CUDA backend, callable from plain C++ (the N-API bindings are compiled by the
// host compiler, so nothing here may include CUDA headers).
#pragma once
#include <memory>

#include "core/model.h"

namespace rwkv::cuda {

// Weight storage of the big frozen matrices (docs/spec.md §3.9). The GEMMs always accumulate in fp32.
enum class Quant { None, NF4, Int8 };
struct QuantOptions { Quant quant = Quant::None; };

// Uploads the weights once and returns a model whose activations stay on the GPU. Throws
// RwkvError("CUDA model: ...") when no device is usable or a tensor is missing. Shapes are not
// checked here: callers validate the checkpoint with the CPU loader first (the binding builds the
// CPU model, which names the key of any misshaped tensor).
std::unique_ptr<rwkv::Model> make_model_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                             const QuantOptions& quant = {});

// GPU memory: free/total of the device (cudaMemGetInfo), and the most bytes this backend's buffers
// held at once since the last reset_peak_memory().
struct MemoryStats { size_t free = 0, total = 0, peak_used = 0; };
MemoryStats memory_stats();
void reset_peak_memory();

// Seconds per call of a GEMM on random data, C[M,N] = A[M,K]·Wᵀ with a bf16 (or quantised) W [N,K],
// averaged over `reps` calls after one warm-up (benchmarks only). Backend: the backend's GEMM as the
// model calls it (fp32 A, rounded to bf16 on the way); Own: our WMMA kernel even where cuBLAS is
// loaded; Library: cuBLAS alone on bf16 A, the card's rate as the library reaches it.
enum class TimedGemm { Backend, Own, Library };
double time_gemm(int M, int N, int K, Quant quant, int reps, TimedGemm what = TimedGemm::Backend);

// GEMM profiling (benchmarks only): between start and stop every GEMM call of the backend is timed with
// CUDA events; stop waits for them and sums the GEMMs' device time and counted flops (2·M·N·K).
struct GemmProfile { long calls = 0; double seconds = 0, flops = 0; };
void gemm_profile_start();
GemmProfile gemm_profile_stop();

}  // namespace rwkv::cuda

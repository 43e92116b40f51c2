// The output end on the GPU (cpu/head.h twin): ln_out, head projection, cross-entropy + L2Wrap
// forward and backward in blocks of rows, so only [rows_per_block, V] logits exist at a time.
#pragma once
#include "core/errors.h"
#include "core/loss.h"
#include "cuda/device_weight.cuh"

namespace rwkv::cuda {

struct HeadDevice {
  const float* ln_w = nullptr;  // [C] fp32 on the device
  const float* ln_b = nullptr;
  DeviceWeight head;            // [V, C]
};

// Scratch of the head for blocks of up to `rows` rows.
struct HeadScratch {
  DeviceBuffer<float> xn, logits, dxn;
  DeviceBuffer<double> loss;
  void reserve(int rows, int C, int V, bool backward);
};

// Rows per block for vocabulary V: about 64 MB of fp32 logits.
inline int head_block_rows(int M, int V) {
  const int per = (1 << 24) / V > 0 ? (1 << 24) / V : 1;
  return M < per ? (M > 0 ? M : 1) : per;
}

// logits [M, V] (device) = LN_out(x) · headᵀ.
void head_logits(int M, int C, const float* x, const HeadDevice& w, float* logits, HeadScratch& ws, cudaStream_t s);

// Σ CE over targets ≠ −100 (device targets [M], already validated to be in [0,V) or −100); when dx
// is non-null writes ∂/∂x [M,C] of ce_grad_scale·CE_sum + L2Wrap. Synchronises once at the end to
// read the loss. Checks `cancel` between row blocks.
double head_loss(int M, int C, const float* x, const HeadDevice& w, const int32_t* targets, const HeadLossScale& scale,
                 float* dx, HeadScratch& ws, const Cancel& cancel, cudaStream_t s);

}  // namespace rwkv::cuda

// LayerNorm and per-head GroupNorm on the GPU, forward and input-gradient backward; the same
// contracts as cpu/norm.h (eps constants from core/constants.h). One warp per row (per group for GroupNorm).
#pragma once
#include <cuda_runtime.h>

#include "core/constants.h"

namespace rwkv::cuda {

// Over rows of `width` channels split into groups of `group` (LayerNorm: group = width). The
// affine weight/bias are per channel (length width). x and y may alias.
void norm_forward(int M, int width, int group, const float* x, const float* weight, const float* bias, float* y,
                  float eps, cudaStream_t s);
// dx (= or += when accumulate) of Σ y·dy; statistics recomputed from x.
void norm_backward(int M, int width, int group, const float* x, const float* weight, const float* dy, float* dx,
                   bool accumulate, float eps, cudaStream_t s);

}  // namespace rwkv::cuda

// Adam on the GPU with the semantics of core/adam.h (torch.optim.Adam, no weight decay).
#pragma once
#include <cuda_runtime.h>

#include "core/adam.h"

namespace rwkv::cuda {

// In place on device arrays p, m, v of n floats with gradient g.
void adam_step(long n, float* p, float* m, float* v, const float* g, const AdamParams& opt, cudaStream_t s);

}  // namespace rwkv::cuda

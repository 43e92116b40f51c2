#include <cmath>

#include "cuda/adam.cuh"
#include "cuda/common.cuh"

namespace rwkv::cuda {
namespace {

__global__ void adam_kernel(long n, float* __restrict__ p, float* __restrict__ m, float* __restrict__ v,
                            const float* __restrict__ g, float b1, float b2, float step_size, float inv_sqrt_bc2,
                            float eps) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float gi = g[i];
  const float mi = b1 * m[i] + (1.f - b1) * gi, vi = b2 * v[i] + (1.f - b2) * gi * gi;
  m[i] = mi; v[i] = vi;
  p[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
}

}  // namespace

void adam_step(long n, float* p, float* m, float* v, const float* g, const AdamParams& opt, cudaStream_t s) {
  if (n <= 0) return;
  // Bias corrections in double on the host, as the CPU twin does.
  const double bc1 = 1.0 - std::pow(opt.beta1, double(opt.step)), bc2 = 1.0 - std::pow(opt.beta2, double(opt.step));
  adam_kernel<<<blocks_for(n, 256), 256, 0, s>>>(n, p, m, v, g, float(opt.beta1), float(opt.beta2),
                                                 float(opt.lr / bc1), float(1.0 / std::sqrt(bc2)), float(opt.eps));
  check_launch("adam_kernel");
}

}  // namespace rwkv::cuda

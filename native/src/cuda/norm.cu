#include "cuda/common.cuh"
#include "cuda/norm.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kWarps = 4;

// Mean and 1/std of n values at x, reduced across the warp.
__device__ void stats(const float* x, int n, float eps, float& mean, float& rstd) {
  float s = 0.f;
  for (int i = threadIdx.x % 32; i < n; i += 32) s += x[i];
  mean = warp_sum(s) / n;
  float q = 0.f;
  for (int i = threadIdx.x % 32; i < n; i += 32) { const float d = x[i] - mean; q += d * d; }
  rstd = rsqrtf(warp_sum(q) / n + eps);
}

__global__ void norm_fwd(long groups, int width, int group, const float* x, const float* __restrict__ w,
                         const float* __restrict__ b, float* y, float eps) {
  const long gi = blockIdx.x * long(kWarps) + threadIdx.x / 32;
  if (gi >= groups) return;
  const long off = gi * group;
  const int c0 = int(off % width);
  float mean, rstd;
  stats(x + off, group, eps, mean, rstd);
  for (int i = threadIdx.x % 32; i < group; i += 32)
    y[off + i] = (x[off + i] - mean) * rstd * w[c0 + i] + b[c0 + i];
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·weight.
__global__ void norm_bwd(long groups, int width, int group, const float* __restrict__ x, const float* __restrict__ w,
                         const float* __restrict__ dy, float* dx, bool accumulate, float eps) {
  const long gi = blockIdx.x * long(kWarps) + threadIdx.x / 32;
  if (gi >= groups) return;
  const long off = gi * group;
  const int c0 = int(off % width);
  float mean, rstd;
  stats(x + off, group, eps, mean, rstd);
  float sg = 0.f, sgx = 0.f;
  for (int i = threadIdx.x % 32; i < group; i += 32) {
    const float g = dy[off + i] * w[c0 + i], xh = (x[off + i] - mean) * rstd;
    sg += g; sgx += g * xh;
  }
  sg = warp_sum(sg) / group;
  sgx = warp_sum(sgx) / group;
  for (int i = threadIdx.x % 32; i < group; i += 32) {
    const float g = dy[off + i] * w[c0 + i], xh = (x[off + i] - mean) * rstd;
    const float d = rstd * (g - sg - xh * sgx);
    dx[off + i] = accumulate ? dx[off + i] + d : d;
  }
}

}  // namespace

void norm_forward(int M, int width, int group, const float* x, const float* weight, const float* bias, float* y,
                  float eps, cudaStream_t s) {
  const long groups = long(M) * (width / group);
  norm_fwd<<<blocks_for(groups, kWarps), kWarps * 32, 0, s>>>(groups, width, group, x, weight, bias, y, eps);
  check_launch("norm_fwd");
}

void norm_backward(int M, int width, int group, const float* x, const float* weight, const float* dy, float* dx,
                   bool accumulate, float eps, cudaStream_t s) {
  const long groups = long(M) * (width / group);
  norm_bwd<<<blocks_for(groups, kWarps), kWarps * 32, 0, s>>>(groups, width, group, x, weight, dy, dx, accumulate, eps);
  check_launch("norm_bwd");
}

}  // namespace rwkv::cuda

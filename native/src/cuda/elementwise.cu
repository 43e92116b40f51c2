#include "cuda/common.cuh"
#include "cuda/elementwise.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void widen_bf16_k(long n, const __nv_bfloat16* __restrict__ src, float* __restrict__ x) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) x[i] = __bfloat162float(src[i]);
}

__device__ __forceinline__ float prev_of(const float* x, const float* prev0, long i, long row, int T, int C, int c) {
  return row % T != 0 ? x[i - C] : (prev0 ? prev0[c] : 0.f);
}

__global__ void shift_mix_k(long n, int T, int C, const float* __restrict__ x, const float* __restrict__ prev0,
                            Mixes mix) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const long row = i / C;
  const int c = int(i % C);
  const float xi = x[i], prev = prev_of(x, prev0, i, row, T, C, c);
  for (int q = 0; q < mix.n; ++q)
    mix.out[q][i] = xi + (prev - xi) * (mix.mu[q][c] + (mix.m[q] ? mix.m[q][i] : 0.f));
}

__global__ void shift_mix_back_k(long n, int T, int C, MixGrads g, float* __restrict__ dx) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const long row = i / C;
  const int c = int(i % C);
  const bool has_next = (row + 1) % T != 0 && i + C < n;
  float acc = 0.f;
  for (int q = 0; q < g.n; ++q) {
    const float mu = g.mu[q][c];
    acc += g.d[q][i] * (1.f - mu - (g.m[q] ? g.m[q][i] : 0.f));
    if (has_next) acc += g.d[q][i + C] * (mu + (g.m[q] ? g.m[q][i + C] : 0.f));
  }
  dx[i] = acc;
}

struct DeltaArgs { const float* d[kMaxMix]; float* out[kMaxMix]; int n; };
__global__ void shift_delta_k(long n, int T, int C, const float* __restrict__ x, const float* __restrict__ prev0,
                              DeltaArgs a) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const long row = i / C;
  const int c = int(i % C);
  const float delta = prev_of(x, prev0, i, row, T, C, c) - x[i];
  for (int q = 0; q < a.n; ++q) a.out[q][i] = a.d[q][i] * delta;
}

// x and y may alias (in-place activation).
__global__ void activate_k(long n, Act f, const float* x, float* y) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  switch (f) {
    case Act::Tanh: y[i] = tanhf(v); break;
    case Act::Sigmoid: y[i] = sigmoidf_(v); break;
    case Act::ReluSquare: { const float r = fmaxf(v, 0.f); y[i] = r * r; break; }
    case Act::Silu: y[i] = v * sigmoidf_(v); break;
    case Act::DecayExp: y[i] = expf(-expf(v)); break;
  }
}

__global__ void activate_back_k(long n, Act f, const float* __restrict__ saved, float* __restrict__ dy) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float s = saved[i];
  switch (f) {
    case Act::Tanh: dy[i] *= 1.f - s * s; break;
    case Act::Sigmoid: dy[i] *= s * (1.f - s); break;
    case Act::ReluSquare: dy[i] *= 2.f * fmaxf(s, 0.f); break;
    case Act::Silu: { const float sg = sigmoidf_(s); dy[i] *= sg * (1.f + s * (1.f - sg)); break; }
    case Act::DecayExp: { const float e = expf(s); dy[i] *= -e * expf(-e); break; }  // from x: keeps tiny exp(x)
  }
}

__global__ void sum_batches_k(int B, long n, const float* __restrict__ in, float* __restrict__ out) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float s = 0.f;
  for (int b = 0; b < B; ++b) s += in[b * n + i];
  out[i] = s;
}

__global__ void broadcast_k(int B, long n, const float* __restrict__ src, float* __restrict__ dst) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n * B) return;
  dst[i] = src[i % n];
}

__global__ void multiply_k(long n, const float* __restrict__ a, const float* __restrict__ b, float* out, bool add) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = add ? out[i] + a[i] * b[i] : a[i] * b[i];
}

__global__ void add_row_vector_k(long n, int C, const float* __restrict__ v, float* __restrict__ y) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) y[i] += v[i % C];
}

}  // namespace

void widen_bf16(long n, const __nv_bfloat16* src, float* x, cudaStream_t s) {
  widen_bf16_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, src, x);
  check_launch("widen_bf16");
}

void shift_mix(int M, int T, int C, const float* x, const float* prev0, const Mixes& mix, cudaStream_t s) {
  const long n = long(M) * C;
  shift_mix_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, T, C, x, prev0, mix);
  check_launch("shift_mix");
}

void shift_mix_backward(int M, int T, int C, const MixGrads& g, float* dx, cudaStream_t s) {
  const long n = long(M) * C;
  shift_mix_back_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, T, C, g, dx);
  check_launch("shift_mix_backward");
}

void shift_delta_product(int M, int T, int C, const float* x, const float* prev0, int n, const float* const* d,
                         float* const* out, cudaStream_t s) {
  DeltaArgs a{};
  a.n = n;
  for (int q = 0; q < n; ++q) { a.d[q] = d[q]; a.out[q] = out[q]; }
  const long total = long(M) * C;
  shift_delta_k<<<blocks_for(total, kThreads), kThreads, 0, s>>>(total, T, C, x, prev0, a);
  check_launch("shift_delta_product");
}

void activate(long n, Act f, const float* x, float* y, cudaStream_t s) {
  activate_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, f, x, y);
  check_launch("activate");
}

void activate_backward(long n, Act f, const float* saved, float* dy, cudaStream_t s) {
  activate_back_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, f, saved, dy);
  check_launch("activate_backward");
}

void multiply(long n, const float* a, const float* b, float* out, cudaStream_t s) {
  multiply_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, a, b, out, false);
  check_launch("multiply");
}

void mul_add(long n, const float* a, const float* b, float* out, cudaStream_t s) {
  multiply_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, a, b, out, true);
  check_launch("mul_add");
}

void add_row_vector(int M, int C, const float* v, float* y, cudaStream_t s) {
  const long n = long(M) * C;
  add_row_vector_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, C, v, y);
  check_launch("add_row_vector");
}

void sum_batches(int B, long n, const float* in, float* out, cudaStream_t s) {
  sum_batches_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(B, n, in, out);
  check_launch("sum_batches");
}

void broadcast(int B, long n, const float* src, float* dst, cudaStream_t s) {
  broadcast_k<<<blocks_for(n * B, kThreads), kThreads, 0, s>>>(B, n, src, dst);
  check_launch("broadcast");
}

}  // namespace rwkv::cuda

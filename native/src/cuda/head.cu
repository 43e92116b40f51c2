#include <cfloat>

#include "cuda/gemm.cuh"
#include "cuda/head.cuh"
#include "cuda/norm.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256;

struct MaxArg { float v; int i; };
__device__ MaxArg better(MaxArg a, MaxArg b) { return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a; }

// Block-wide reductions over kThreads threads through shared memory.
__device__ MaxArg block_maxarg(MaxArg m) {
  __shared__ MaxArg sh[kThreads / 32];
  for (int o = 16; o > 0; o >>= 1) {
    MaxArg other{__shfl_xor_sync(0xffffffffu, m.v, o), __shfl_xor_sync(0xffffffffu, m.i, o)};
    m = better(m, other);
  }
  if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = m;
  __syncthreads();
  m = sh[0];
  for (int w = 1; w < kThreads / 32; ++w) m = better(m, sh[w]);
  __syncthreads();
  return m;
}
__device__ float block_sum(float v) {
  __shared__ float sh[kThreads / 32];
  v = warp_sum(v);
  if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
  __syncthreads();
  float s = 0.f;
  for (int w = 0; w < kThreads / 32; ++w) s += sh[w];
  __syncthreads();
  return s;
}

// One block per row: CE against the target, and (when grad) the logits replaced in place by
// ce_scale·(softmax − onehot) plus the L2Wrap term l2·max at the argmax.
__global__ void __launch_bounds__(kThreads)
ce_rows(int V, float* __restrict__ logits, const int32_t* __restrict__ targets, float ce_scale, float l2, bool grad,
        double* __restrict__ loss) {
  float* row = logits + long(blockIdx.x) * V;
  const int target = targets[blockIdx.x];
  MaxArg m{-FLT_MAX, 0};
  for (int v = threadIdx.x; v < V; v += kThreads) m = better(m, MaxArg{row[v], v});
  m = block_maxarg(m);
  float se = 0.f;
  for (int v = threadIdx.x; v < V; v += kThreads) se += expf(row[v] - m.v);
  const float sum = block_sum(se);
  if (threadIdx.x == 0 && target != kIgnoreTarget)
    atomicAdd(loss, double(logf(sum) + m.v - row[target]));
  __syncthreads();  // row[target] is read above before the in-place gradient overwrites it
  if (!grad) return;
  const float scale = target != kIgnoreTarget ? ce_scale : 0.f;
  for (int v = threadIdx.x; v < V; v += kThreads) {
    float d = scale * (expf(row[v] - m.v) / sum - (v == target ? 1.f : 0.f));
    if (v == m.i) d += l2 * m.v;
    row[v] = d;
  }
}

}  // namespace

void HeadScratch::reserve(int rows, int C, int V, bool backward) {
  xn.resize(size_t(rows) * C);
  logits.resize(size_t(rows) * V);
  if (backward) dxn.resize(size_t(rows) * C);
  loss.resize(1);
}

void head_logits(int M, int C, const float* x, const HeadDevice& w, float* logits, HeadScratch& ws, cudaStream_t s) {
  ws.xn.resize(size_t(M) * C);
  norm_forward(M, C, C, x, w.ln_w, w.ln_b, ws.xn.get(), kLayerNormEps, s);
  gemm(M, ws.xn.get(), w.head, true, logits, 0.f, s);
}

double head_loss(int M, int C, const float* x, const HeadDevice& w, const int32_t* targets, const HeadLossScale& scale,
                 float* dx, HeadScratch& ws, const Cancel& cancel, cudaStream_t s) {
  const int V = w.head.rows, R = head_block_rows(M, V);
  ws.reserve(R, C, V, dx != nullptr);
  ws.loss.zero(1, s);
  for (int m0 = 0; m0 < M; m0 += R) {
    check_cancel(cancel);
    const int rows = M - m0 < R ? M - m0 : R;
    const float* xb = x + long(m0) * C;
    norm_forward(rows, C, C, xb, w.ln_w, w.ln_b, ws.xn.get(), kLayerNormEps, s);
    gemm(rows, ws.xn.get(), w.head, true, ws.logits.get(), 0.f, s);
    ce_rows<<<rows, kThreads, 0, s>>>(V, ws.logits.get(), targets + m0, scale.ce_grad_scale, scale.l2wrap_scale,
                                      dx != nullptr, ws.loss.get());
    check_launch("ce_rows");
    if (dx) {
      gemm(rows, ws.logits.get(), w.head, false, ws.dxn.get(), 0.f, s);  // [rows,V]·head[V,C]
      norm_backward(rows, C, C, xb, w.ln_w, ws.dxn.get(), dx + long(m0) * C, false, kLayerNormEps, s);
    }
  }
  double loss = 0;
  ws.loss.download(&loss, 1, s);
  check(cudaStreamSynchronize(s), "head_loss");
  return loss;
}

}  // namespace rwkv::cuda

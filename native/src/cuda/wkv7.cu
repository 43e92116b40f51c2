#include "cuda/common.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = kWkvN, L = kWkv7Chunk;
// Four threads share a state row (or, in the backward's column phase, a column): each holds a quarter
// of it, 16 values, and the row sums are two shuffles. 256 threads per head shorten the sequential
// step four times against one thread per row; with batch 1 there are only H blocks to fill the card.
constexpr int kParts = 4, kQ = N / kParts, kThreads = N * kParts;

__device__ __forceinline__ float decay_of(float w_hat) { return expf(-expf(w_hat)); }

// Sum over the kParts consecutive lanes that share a row.
__device__ __forceinline__ float part_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Thread tid: row i = tid / kParts, columns j0 .. j0 + kQ − 1 with j0 = (tid % kParts)·kQ.
__global__ void __launch_bounds__(kThreads)
wkv7_fwd(int T, int H, Wkv7In in, float* __restrict__ state, float* __restrict__ y, float* __restrict__ ck) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, tid = threadIdx.x;
  const int i = tid / kParts, q = tid % kParts, j0 = q * kQ;
  const long C = long(H) * N, NN = long(N) * N;
  // Double-buffered step inputs: one barrier per step (a buffer is rewritten two steps later, after
  // every thread has passed the barrier in between).
  __shared__ float r_[2][N], w_[2][N], k_[2][N], a_[2][N], b_[2][N], v_[2][N];
  float S[kQ];
  float* Sg = state + bh * NN + long(i) * N + j0;
  for (int j = 0; j < kQ; ++j) S[j] = Sg[j];
  const int nc = (T + L - 1) / L;
  // Threads 0..191 each fetch two of the six inputs of a step, one step ahead.
  const int which = tid / N, e = tid % N;
  const float* src0 = which == 0 ? in.r : which == 1 ? in.k : in.b;
  const float* src1 = which == 0 ? in.w : which == 1 ? in.a : in.v;
  auto at = [&](int t) { return (long(b) * T + t) * C + long(h) * N + e; };
  float p0 = 0.f, p1 = 0.f;
  if (which < 3) { p0 = src0[at(0)]; p1 = src1[at(0)]; }
  for (int t = 0; t < T; ++t) {
    const int s = t & 1;
    if (which == 0) { r_[s][e] = p0; w_[s][e] = decay_of(p1); }
    else if (which == 1) { k_[s][e] = p0; a_[s][e] = p1; }
    else if (which == 2) { b_[s][e] = p0; v_[s][e] = p1; }
    if (ck && t % L == 0) {
      float* dst = ck + (long(bh) * nc + t / L) * NN + long(i) * N + j0;
      for (int j = 0; j < kQ; ++j) dst[j] = S[j];
    }
    __syncthreads();
    if (which < 3 && t + 1 < T) { p0 = src0[at(t + 1)]; p1 = src1[at(t + 1)]; }
    float sa = 0.f;
    for (int j = 0; j < kQ; ++j) sa += S[j] * a_[s][j0 + j];
    sa = part_sum(sa);
    const float vi = v_[s][i];
    float yi = 0.f;
    for (int j = 0; j < kQ; ++j) {
      S[j] = S[j] * w_[s][j0 + j] + sa * b_[s][j0 + j] + vi * k_[s][j0 + j];
      yi += S[j] * r_[s][j0 + j];
    }
    yi = part_sum(yi);
    if (q == 0) y[(long(b) * T + t) * C + long(h) * N + i] = yi;
  }
  for (int j = 0; j < kQ; ++j) Sg[j] = S[j];
}

// G = ∂L/∂S lives in shared memory. Per step, the row phase (threads of value row i) gives dv and
// ∂L/∂sa; the column phase (threads of key column j) gives dr, dk, db, da, dw and steps G back one
// token. Within a chunk the states are recomputed from its checkpoint into `scratch`.
__global__ void __launch_bounds__(kThreads)
wkv7_bwd(int T, int H, Wkv7In in, const float* __restrict__ ck, const float* __restrict__ dy, Wkv7Grad g,
         float* __restrict__ ds0, float* __restrict__ scratch) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, tid = threadIdx.x;
  const int i = tid / kParts, q = tid % kParts, j0 = q * kQ;  // row phase: row i; column phase: column i
  const long C = long(H) * N, NN = long(N) * N;
  __shared__ float G[N][N + 1];
  __shared__ float sa_[L][N], dec_[L][N];
  __shared__ float r_[N], k_[N], a_[N], b_[N], v_[N], dy_[N], dsa_[N];
  float* Sbuf = scratch + long(bh) * (L + 1) * NN;  // S before the chunk, then after each step
  for (int j = 0; j < kQ; ++j) G[i][j0 + j] = 0.f;
  // The step inputs: threads 0..191 fetch two each, one step ahead (the recompute walks forwards
  // through a chunk, fetching w k | a b | v; the backward walks back, fetching r k | a b | v dy).
  const int which = tid / N, e = tid % N;
  const float* fwd0 = which == 0 ? in.w : which == 1 ? in.a : in.v;
  const float* fwd1 = which == 0 ? in.k : which == 1 ? in.b : in.v;
  const float* bwd0 = which == 0 ? in.r : which == 1 ? in.a : in.v;
  const float* bwd1 = which == 0 ? in.k : which == 1 ? in.b : dy;
  auto at = [&](int t) { return (long(b) * T + t) * C + long(h) * N + e; };
  const int nc = (T + L - 1) / L;
  for (int c = nc - 1; c >= 0; --c) {
    const int t0 = c * L, n = min(T, t0 + L) - t0;
    float S[kQ];
    const float* src = ck + (long(bh) * nc + c) * NN + long(i) * N + j0;
    for (int j = 0; j < kQ; ++j) { S[j] = src[j]; Sbuf[long(i) * N + j0 + j] = S[j]; }
    float p0 = 0.f, p1 = 0.f;
    if (which < 3) { p0 = fwd0[at(t0)]; p1 = fwd1[at(t0)]; }
    for (int u = 0; u < n; ++u) {
      __syncthreads();
      if (which == 0) { dec_[u][e] = decay_of(p0); k_[e] = p1; }
      else if (which == 1) { a_[e] = p0; b_[e] = p1; }
      else if (which == 2) v_[e] = p0;
      __syncthreads();
      if (which < 3 && u + 1 < n) { p0 = fwd0[at(t0 + u + 1)]; p1 = fwd1[at(t0 + u + 1)]; }
      float sa = 0.f;
      for (int j = 0; j < kQ; ++j) sa += S[j] * a_[j0 + j];
      sa = part_sum(sa);
      if (q == 0) sa_[u][i] = sa;
      const float vi = v_[i];
      float* dst = Sbuf + (u + 1) * NN + long(i) * N + j0;
      for (int j = 0; j < kQ; ++j) {
        S[j] = S[j] * dec_[u][j0 + j] + sa * b_[j0 + j] + vi * k_[j0 + j];
        dst[j] = S[j];
      }
    }
    if (which < 3) { p0 = bwd0[at(t0 + n - 1)]; p1 = bwd1[at(t0 + n - 1)]; }
    for (int u = n - 1; u >= 0; --u) {
      const long off = (long(b) * T + t0 + u) * C + long(h) * N;
      __syncthreads();  // also publishes the recomputed states in Sbuf to the whole block
      if (which == 0) { r_[e] = p0; k_[e] = p1; }
      else if (which == 1) { a_[e] = p0; b_[e] = p1; }
      else if (which == 2) { v_[e] = p0; dy_[e] = p1; }
      __syncthreads();
      if (which < 3 && u > 0) { p0 = bwd0[at(t0 + u - 1)]; p1 = bwd1[at(t0 + u - 1)]; }
      {  // row phase: row i, columns j0..
        const float dyi = dy_[i];
        float dvi = 0.f, dsai = 0.f;
        for (int j = j0; j < j0 + kQ; ++j) {
          const float gij = G[i][j] + dyi * r_[j];
          G[i][j] = gij;
          dvi += gij * k_[j];
          dsai += gij * b_[j];
        }
        dvi = part_sum(dvi);
        dsai = part_sum(dsai);
        if (q == 0) { g.dv[off + i] = dvi; dsa_[i] = dsai; }
      }
      __syncthreads();
      {  // column phase: column j = i, rows j0..
        const int j = i;
        const float* St = Sbuf + (u + 1) * NN;
        const float* Sp = Sbuf + u * NN;
        const float wj = dec_[u][j], aj = a_[j];
        float dr = 0.f, dk = 0.f, db = 0.f, dd = 0.f, da = 0.f;
        for (int ii = j0; ii < j0 + kQ; ++ii) {
          const float gij = G[ii][j], sp = Sp[long(ii) * N + j];
          dr += St[long(ii) * N + j] * dy_[ii];
          dk += gij * v_[ii];
          db += gij * sa_[u][ii];
          dd += gij * sp;
          da += sp * dsa_[ii];
          G[ii][j] = gij * wj + dsa_[ii] * aj;
        }
        dr = part_sum(dr); dk = part_sum(dk); db = part_sum(db); dd = part_sum(dd); da = part_sum(da);
        if (q == 0) {
          g.dr[off + j] = dr; g.dk[off + j] = dk; g.db[off + j] = db; g.da[off + j] = da;
          g.dw[off + j] = dd * wj * -expf(in.w[off + j]);
        }
      }
    }
    __syncthreads();  // Sbuf is rewritten by the next chunk
  }
  for (int j = 0; j < kQ; ++j) ds0[bh * NN + long(i) * N + j0 + j] = G[i][j0 + j];
}

}  // namespace

void wkv7_forward(int B, int T, int H, const Wkv7In& in, float* state, float* y, float* checkpoints, cudaStream_t s) {
  if (T <= 0) return;
  wkv7_fwd<<<B * H, kThreads, 0, s>>>(T, H, in, state, y, checkpoints);
  check_launch("wkv7_fwd");
}

void wkv7_backward(int B, int T, int H, const Wkv7In& in, const float* checkpoints, const float* dy,
                   const Wkv7Grad& grad, float* ds0, float* scratch, cudaStream_t s) {
  if (T <= 0) return;
  wkv7_bwd<<<B * H, kThreads, 0, s>>>(T, H, in, checkpoints, dy, grad, ds0, scratch);
  check_launch("wkv7_bwd");
}

}  // namespace rwkv::cuda

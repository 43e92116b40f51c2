#include "cuda/common.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = kWkvN, L = kWkv7Chunk;

__device__ __forceinline__ float decay_of(float w_hat) { return expf(-expf(w_hat)); }

__global__ void __launch_bounds__(N)
wkv7_fwd(int T, int H, Wkv7In in, float* __restrict__ state, float* __restrict__ y, float* __restrict__ ck) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, i = threadIdx.x;
  const long C = long(H) * N, NN = long(N) * N;
  __shared__ float r_[N], w_[N], k_[N], a_[N], b_[N];
  float S[N];
  float* Sg = state + bh * NN + long(i) * N;
  for (int j = 0; j < N; ++j) S[j] = Sg[j];
  const int nc = (T + L - 1) / L;
  for (int t = 0; t < T; ++t) {
    const long off = (long(b) * T + t) * C + long(h) * N;
    if (ck && t % L == 0) {
      float* dst = ck + (long(bh) * nc + t / L) * NN + long(i) * N;
      for (int j = 0; j < N; ++j) dst[j] = S[j];
    }
    __syncthreads();
    r_[i] = in.r[off + i]; w_[i] = decay_of(in.w[off + i]); k_[i] = in.k[off + i];
    a_[i] = in.a[off + i]; b_[i] = in.b[off + i];
    const float vi = in.v[off + i];
    __syncthreads();
    float sa = 0.f;
    for (int j = 0; j < N; ++j) sa += S[j] * a_[j];
    float yi = 0.f;
    for (int j = 0; j < N; ++j) {
      S[j] = S[j] * w_[j] + sa * b_[j] + vi * k_[j];
      yi += S[j] * r_[j];
    }
    y[off + i] = yi;
  }
  for (int j = 0; j < N; ++j) Sg[j] = S[j];
}

// G = ∂L/∂S lives in shared memory: the row phase (thread = value row i) gives dv and ∂L/∂sa, the
// column phase (thread = key column j) gives dr, dk, db, da, dw and steps G back one token.
__global__ void __launch_bounds__(N)
wkv7_bwd(int T, int H, Wkv7In in, const float* __restrict__ ck, const float* __restrict__ dy, Wkv7Grad g,
         float* __restrict__ ds0, float* __restrict__ scratch) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, i = threadIdx.x;
  const long C = long(H) * N, NN = long(N) * N;
  __shared__ float G[N][N + 1];
  __shared__ float sa_[L][N], dec_[L][N];
  __shared__ float r_[N], k_[N], a_[N], b_[N], v_[N], dy_[N], dsa_[N];
  float* Sbuf = scratch + long(bh) * (L + 1) * NN;  // S before the chunk, then after each step
  for (int j = 0; j < N; ++j) G[i][j] = 0.f;
  const int nc = (T + L - 1) / L;
  for (int c = nc - 1; c >= 0; --c) {
    const int t0 = c * L, n = min(T, t0 + L) - t0;
    float S[N];
    const float* src = ck + (long(bh) * nc + c) * NN + long(i) * N;
    for (int j = 0; j < N; ++j) { S[j] = src[j]; Sbuf[long(i) * N + j] = S[j]; }
    for (int u = 0; u < n; ++u) {
      const long off = (long(b) * T + t0 + u) * C + long(h) * N;
      __syncthreads();
      dec_[u][i] = decay_of(in.w[off + i]); k_[i] = in.k[off + i]; a_[i] = in.a[off + i]; b_[i] = in.b[off + i];
      const float vi = in.v[off + i];
      __syncthreads();
      float sa = 0.f;
      for (int j = 0; j < N; ++j) sa += S[j] * a_[j];
      sa_[u][i] = sa;
      float* dst = Sbuf + (u + 1) * NN + long(i) * N;
      for (int j = 0; j < N; ++j) { S[j] = S[j] * dec_[u][j] + sa * b_[j] + vi * k_[j]; dst[j] = S[j]; }
    }
    for (int u = n - 1; u >= 0; --u) {
      const long off = (long(b) * T + t0 + u) * C + long(h) * N;
      __syncthreads();  // also publishes the recomputed states in Sbuf to the whole block
      r_[i] = in.r[off + i]; k_[i] = in.k[off + i]; a_[i] = in.a[off + i]; b_[i] = in.b[off + i];
      v_[i] = in.v[off + i]; dy_[i] = dy[off + i];
      __syncthreads();
      {  // row phase, thread = i
        const float dyi = dy_[i];
        float dvi = 0.f, dsai = 0.f;
        for (int j = 0; j < N; ++j) {
          const float gij = G[i][j] + dyi * r_[j];
          G[i][j] = gij;
          dvi += gij * k_[j];
          dsai += gij * b_[j];
        }
        g.dv[off + i] = dvi;
        dsa_[i] = dsai;
      }
      __syncthreads();
      {  // column phase, thread = j
        const int j = i;
        const float* St = Sbuf + (u + 1) * NN;
        const float* Sp = Sbuf + u * NN;
        const float wj = dec_[u][j], aj = a_[j];
        float dr = 0.f, dk = 0.f, db = 0.f, dd = 0.f, da = 0.f;
        for (int ii = 0; ii < N; ++ii) {
          const float gij = G[ii][j], sp = Sp[long(ii) * N + j];
          dr += St[long(ii) * N + j] * dy_[ii];
          dk += gij * v_[ii];
          db += gij * sa_[u][ii];
          dd += gij * sp;
          da += sp * dsa_[ii];
          G[ii][j] = gij * wj + dsa_[ii] * aj;
        }
        g.dr[off + j] = dr; g.dk[off + j] = dk; g.db[off + j] = db; g.da[off + j] = da;
        g.dw[off + j] = dd * wj * -expf(in.w[off + j]);
      }
    }
    __syncthreads();  // Sbuf is rewritten by the next chunk
  }
  for (int j = 0; j < N; ++j) ds0[bh * NN + long(i) * N + j] = G[i][j];
}

}  // namespace

void wkv7_forward(int B, int T, int H, const Wkv7In& in, float* state, float* y, float* checkpoints, cudaStream_t s) {
  if (T <= 0) return;
  wkv7_fwd<<<B * H, N, 0, s>>>(T, H, in, state, y, checkpoints);
  check_launch("wkv7_fwd");
}

void wkv7_backward(int B, int T, int H, const Wkv7In& in, const float* checkpoints, const float* dy,
                   const Wkv7Grad& grad, float* ds0, float* scratch, cudaStream_t s) {
  if (T <= 0) return;
  wkv7_bwd<<<B * H, N, 0, s>>>(T, H, in, checkpoints, dy, grad, ds0, scratch);
  check_launch("wkv7_bwd");
}

}  // namespace rwkv::cuda

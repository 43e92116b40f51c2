#include "cuda/common.cuh"
#include "cuda/wkv6.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = 64, L = Wkv6Shape::kChunk;

struct Io { const float *r, *k, *v, *w, *u; };

__global__ void __launch_bounds__(N)
wkv6_fwd(int T, int H, Io in, float* __restrict__ state, float* __restrict__ y, float* __restrict__ ck) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, i = threadIdx.x;
  const long C = long(H) * N, NN = long(N) * N;
  __shared__ float r_[N], k_[N], w_[N], uk_[N];
  float S[N];
  float* Sg = state + bh * NN + long(i) * N;
  for (int j = 0; j < N; ++j) S[j] = Sg[j];
  const float ui = in.u[h * N + i];
  const int nc = (T + L - 1) / L;
  for (int t = 0; t < T; ++t) {
    const long off = (long(b) * T + t) * C + long(h) * N;
    if (ck && t % L == 0) {
      float* dst = ck + (long(bh) * nc + t / L) * NN + long(i) * N;
      for (int j = 0; j < N; ++j) dst[j] = S[j];
    }
    __syncthreads();
    r_[i] = in.r[off + i]; k_[i] = in.k[off + i]; w_[i] = in.w[off + i]; uk_[i] = ui * in.k[off + i];
    const float vi = in.v[off + i];
    __syncthreads();
    float yi = 0.f;
    for (int j = 0; j < N; ++j) {
      yi += r_[j] * (S[j] + uk_[j] * vi);
      S[j] = S[j] * w_[j] + vi * k_[j];
    }
    y[off + i] = yi;
  }
  for (int j = 0; j < N; ++j) Sg[j] = S[j];
}

// G = ∂L/∂S_t in shared memory. Row phase (thread i): dv. Column phase (thread j): dr, dk, dw, du
// and G ← ∂L/∂S_{t−1} = G·diag(w) + dy·rᵀ.
__global__ void __launch_bounds__(N)
wkv6_bwd(int T, int H, Io in, const float* __restrict__ ck, const float* __restrict__ dy, float* __restrict__ dstate,
         float* __restrict__ dr, float* __restrict__ dk, float* __restrict__ dv, float* __restrict__ dw,
         float* __restrict__ du, float* __restrict__ scratch) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H, i = threadIdx.x;
  const long C = long(H) * N, NN = long(N) * N;
  __shared__ float G[N][N + 1];
  __shared__ float r_[N], k_[N], v_[N], w_[N], dy_[N];
  float* Sbuf = scratch + long(bh) * L * NN;  // S_{t−1} of each step of the chunk
  for (int j = 0; j < N; ++j) G[i][j] = dstate[bh * NN + long(i) * N + j];
  const float uj = in.u[h * N + i];
  float du_acc = 0.f;
  const int nc = (T + L - 1) / L;
  for (int c = nc - 1; c >= 0; --c) {
    const int t0 = c * L, n = min(T, t0 + L) - t0;
    float S[N];
    const float* src = ck + (long(bh) * nc + c) * NN + long(i) * N;
    for (int j = 0; j < N; ++j) S[j] = src[j];
    for (int q = 0; q < n; ++q) {
      const long off = (long(b) * T + t0 + q) * C + long(h) * N;
      float* dst = Sbuf + q * NN + long(i) * N;
      for (int j = 0; j < N; ++j) dst[j] = S[j];
      __syncthreads();
      k_[i] = in.k[off + i]; w_[i] = in.w[off + i];
      const float vi = in.v[off + i];
      __syncthreads();
      for (int j = 0; j < N; ++j) S[j] = S[j] * w_[j] + vi * k_[j];
    }
    for (int q = n - 1; q >= 0; --q) {
      const long off = (long(b) * T + t0 + q) * C + long(h) * N;
      __syncthreads();  // also publishes the recomputed states in Sbuf to the whole block
      r_[i] = in.r[off + i]; k_[i] = in.k[off + i]; v_[i] = in.v[off + i]; w_[i] = in.w[off + i]; dy_[i] = dy[off + i];
      __syncthreads();
      float dyv = 0.f, ruk = 0.f;
      for (int j = 0; j < N; ++j) { dyv += dy_[j] * v_[j]; ruk += r_[j] * in.u[h * N + j] * k_[j]; }
      {  // row phase, thread = i
        float s = 0.f;
        for (int j = 0; j < N; ++j) s += G[i][j] * k_[j];
        dv[off + i] = s + dy_[i] * ruk;
      }
      __syncthreads();
      {  // column phase, thread = j
        const int j = i;
        const float* Sp = Sbuf + q * NN;
        const float wj = w_[j], rj = r_[j], kj = k_[j];
        float a_r = 0.f, a_k = 0.f, a_w = 0.f;
        for (int ii = 0; ii < N; ++ii) {
          const float sp = Sp[long(ii) * N + j], g = G[ii][j];
          a_r += dy_[ii] * sp;
          a_k += g * v_[ii];
          a_w += g * sp;
          G[ii][j] = g * wj + dy_[ii] * rj;
        }
        dr[off + j] = a_r + uj * kj * dyv;
        dk[off + j] = a_k + rj * uj * dyv;
        dw[off + j] = a_w;
        du_acc += rj * kj * dyv;
      }
    }
    __syncthreads();  // Sbuf is rewritten by the next chunk
  }
  for (int j = 0; j < N; ++j) dstate[bh * NN + long(i) * N + j] = G[i][j];
  if (du) atomicAdd(du + h * N + i, du_acc);
}

void check_n(const Wkv6Shape& s) {
  if (s.N != N) throw RwkvError("CUDA wkv6: head size " + std::to_string(s.N) + " (only 64 is supported)");
}

}  // namespace

void wkv6_forward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w, const float* u,
                  float* state, float* y, float* checkpoints, cudaStream_t st) {
  check_n(s);
  if (s.T <= 0) return;
  wkv6_fwd<<<s.B * s.H, N, 0, st>>>(s.T, s.H, Io{r, k, v, w, u}, state, y, checkpoints);
  check_launch("wkv6_fwd");
}

void wkv6_backward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w, const float* u,
                   const float* checkpoints, const float* dy, float* dstate, float* dr, float* dk, float* dv, float* dw,
                   float* du, float* scratch, cudaStream_t st) {
  check_n(s);
  if (du) check(cudaMemsetAsync(du, 0, size_t(s.H) * N * sizeof(float), st), "wkv6 du");
  if (s.T <= 0) return;
  wkv6_bwd<<<s.B * s.H, N, 0, st>>>(s.T, s.H, Io{r, k, v, w, u}, checkpoints, dy, dstate, dr, dk, dv, dw, du, scratch);
  check_launch("wkv6_bwd");
}

}  // namespace rwkv::cuda

#include "cuda/common.cuh"
#include "cuda/rwkv7_ops.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256, kHeadWarps = kThreads / 32, N = kWkvN, kPerLane = N / 32;

__device__ __forceinline__ float softplusf_(float x) { return x > 20.f ? x : log1pf(expf(x)); }

__global__ void embed_k(long n, int C, const int32_t* __restrict__ tok, const __nv_bfloat16* __restrict__ emb,
                        float* __restrict__ x) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i < n) x[i] = __bfloat162float(emb[long(tok[i / C]) * C + i % C]);
}

__device__ __forceinline__ float prev_of(const float* x, const float* prev0, long i, long row, int T, int C, int c) {
  return row % T != 0 ? x[i - C] : (prev0 ? prev0[c] : 0.f);
}

__global__ void shift_mix_k(long n, int T, int C, const float* __restrict__ x, const float* __restrict__ prev0, Mixes mix) {
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
__global__ void shift_delta_k(long n, int T, int C, const float* __restrict__ x, const float* __restrict__ prev0, DeltaArgs a) {
  const long i = blockIdx.x * long(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const long row = i / C;
  const int c = int(i % C);
  const float delta = prev_of(x, prev0, i, row, T, C, c) - x[i];
  for (int q = 0; q < a.n; ++q) a.out[q][i] = a.d[q][i] * delta;
}

// Lane l of a warp owns channels h·N + l + 32·e, e < kPerLane.
struct HeadIdx { long m; int h; long base; int lane; bool ok; };
__device__ HeadIdx head_idx(int M, int H) {
  const long w = blockIdx.x * long(kHeadWarps) + threadIdx.x / 32;
  HeadIdx r;
  r.m = w / H; r.h = int(w % H); r.lane = threadIdx.x % 32; r.ok = r.m < M;
  r.base = r.m * long(H) * N + long(r.h) * N;
  return r;
}

__global__ void tm_prepare_k(int M, int H, TmVectors p, TmActs a) {
  const HeadIdx q = head_idx(M, H);
  if (!q.ok) return;
  float kk[kPerLane], ss = 0.f;
  for (int e = 0; e < kPerLane; ++e) {
    const int c = q.h * N + q.lane + 32 * e;
    const long i = q.base + q.lane + 32 * e;
    const float z = a.z[i] + p.w0[c];
    a.z[i] = z;
    a.what[i] = -softplusf_(-z) - 0.5f;
    const float za = a.za[i] + p.a0[c];
    a.za[i] = za;
    a.alpha[i] = sigmoidf_(za);
    if (a.vfirst) {
      const float zv = a.zv[i] + p.v0[c], vg = sigmoidf_(zv);
      a.zv[i] = zv;
      a.vg[i] = vg;
      a.vv[i] = a.v[i] + (a.vfirst[i] - a.v[i]) * vg;
    } else {
      a.vv[i] = a.v[i];
    }
    kk[e] = a.k[i] * p.k_k[c];
    ss += kk[e] * kk[e];
  }
  const float nrm = fmaxf(sqrtf(warp_sum(ss)), 1e-12f);
  if (q.lane == 0) a.knorm[q.m * H + q.h] = nrm;
  for (int e = 0; e < kPerLane; ++e) {
    const int c = q.h * N + q.lane + 32 * e;
    const long i = q.base + q.lane + 32 * e;
    const float kn = kk[e] / nrm, al = a.alpha[i];
    a.kn[i] = kn;
    a.kw[i] = a.k[i] * (1.f + (al - 1.f) * p.k_a[c]);
    a.aop[i] = -kn;
    a.bop[i] = kn * al;
  }
}

__global__ void bonus_gate_k(int M, int H, TmVectors p, TmActs a, float* yo, const float* g, float* beta, float* gy) {
  const HeadIdx q = head_idx(M, H);
  if (!q.ok) return;
  float b = 0.f;
  for (int e = 0; e < kPerLane; ++e) {
    const int j = q.lane + 32 * e;
    b += a.r[q.base + j] * a.kw[q.base + j] * p.r_k[q.h * N + j];
  }
  b = warp_sum(b);
  if (q.lane == 0) beta[q.m * H + q.h] = b;
  for (int e = 0; e < kPerLane; ++e) {
    const long i = q.base + q.lane + 32 * e;
    const float y = yo[i] + b * a.vv[i];
    yo[i] = y;
    gy[i] = y * g[i];
  }
}

__global__ void bonus_gate_back_k(int M, int H, TmVectors p, TmActs a, const float* yo, const float* g,
                                  const float* beta, const float* dgy, float* dyo, float* dg, float* dr, float* dkw,
                                  float* dvv) {
  const HeadIdx q = head_idx(M, H);
  if (!q.ok) return;
  const float b = beta[q.m * H + q.h];
  float db = 0.f;
  for (int e = 0; e < kPerLane; ++e) {
    const long i = q.base + q.lane + 32 * e;
    const float d = dgy[i] * g[i];
    dg[i] = dgy[i] * yo[i];
    dyo[i] = d;
    dvv[i] = b * d;
    db += d * a.vv[i];
  }
  db = warp_sum(db);
  for (int e = 0; e < kPerLane; ++e) {
    const int j = q.lane + 32 * e;
    const long i = q.base + j;
    const float rk = p.r_k[q.h * N + j];
    dr[i] = db * a.kw[i] * rk;
    dkw[i] = db * a.r[i] * rk;
  }
}

__global__ void tm_prepare_back_k(int M, int H, TmVectors p, TmActs a, TmGrads g) {
  const HeadIdx q = head_idx(M, H);
  if (!q.ok) return;
  const float nrm = a.knorm[q.m * H + q.h];
  float dkn[kPerLane], dot = 0.f;
  for (int e = 0; e < kPerLane; ++e) {
    const int c = q.h * N + q.lane + 32 * e;
    const long i = q.base + q.lane + 32 * e;
    const float al = a.alpha[i], kn = a.kn[i], k = a.k[i];
    const float dkw = g.dkw[i] + g.dk_w[i];
    const float dal = dkw * k * p.k_a[c] + g.db[i] * kn;
    g.dza[i] = dal * al * (1.f - al);
    dkn[e] = g.db[i] * al - g.da[i];
    dot += dkn[e] * kn;
    g.dkw[i] = dkw * (1.f + (al - 1.f) * p.k_a[c]);  // dk from the write key; κ's share below
    g.dr[i] += g.dr_w[i];
    g.dz[i] = g.dwhat[i] * sigmoidf_(-a.z[i]);
    const float dvv = g.dvv[i] + g.dv_w[i];
    if (a.vfirst) {
      const float vg = a.vg[i];
      g.dvv[i] = dvv * (1.f - vg);
      g.dvfirst[i] += dvv * vg;
      g.dzv[i] = dvv * (a.vfirst[i] - a.v[i]) * vg * (1.f - vg);
    } else {
      g.dvv[i] = dvv + g.dvfirst[i];  // layer 0: v is v_first, which every later layer used
    }
  }
  dot = warp_sum(dot);
  // κ̂ = κ/max(‖κ‖, 1e-12): the projection term vanishes where the floor is active.
  const bool floored = nrm <= 1e-12f;
  for (int e = 0; e < kPerLane; ++e) {
    const int c = q.h * N + q.lane + 32 * e;
    const long i = q.base + q.lane + 32 * e;
    const float dkappa = (dkn[e] - (floored ? 0.f : a.kn[i] * dot)) / nrm;
    g.dkw[i] += dkappa * p.k_k[c];
  }
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

int head_blocks(int M, int H) { return blocks_for(long(M) * H, kHeadWarps); }

}  // namespace

void embed(int M, int C, const int32_t* tokens, const __nv_bfloat16* emb, float* x, cudaStream_t s) {
  const long n = long(M) * C;
  embed_k<<<blocks_for(n, kThreads), kThreads, 0, s>>>(n, C, tokens, emb, x);
  check_launch("embed");
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

void tm_prepare(int M, int H, const TmVectors& p, const TmActs& a, cudaStream_t s) {
  tm_prepare_k<<<head_blocks(M, H), kThreads, 0, s>>>(M, H, p, a);
  check_launch("tm_prepare");
}

void bonus_gate(int M, int H, const TmVectors& p, const TmActs& a, float* yo, const float* g, float* beta, float* gy,
                cudaStream_t s) {
  bonus_gate_k<<<head_blocks(M, H), kThreads, 0, s>>>(M, H, p, a, yo, g, beta, gy);
  check_launch("bonus_gate");
}

void bonus_gate_backward(int M, int H, const TmVectors& p, const TmActs& a, const float* yo, const float* g,
                         const float* beta, const float* dgy, float* dyo, float* dg, float* dr, float* dkw, float* dvv,
                         cudaStream_t s) {
  bonus_gate_back_k<<<head_blocks(M, H), kThreads, 0, s>>>(M, H, p, a, yo, g, beta, dgy, dyo, dg, dr, dkw, dvv);
  check_launch("bonus_gate_backward");
}

void tm_prepare_backward(int M, int H, const TmVectors& p, const TmActs& a, const TmGrads& g, cudaStream_t s) {
  tm_prepare_back_k<<<head_blocks(M, H), kThreads, 0, s>>>(M, H, p, a, g);
  check_launch("tm_prepare_backward");
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

#include "cuda/common.cuh"
#include "cuda/rwkv7_ops.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256, kHeadWarps = kThreads / 32, N = kWkvN, kPerLane = N / 32;

__device__ __forceinline__ float softplusf_(float x) { return x > 20.f ? x : log1pf(expf(x)); }

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

int head_blocks(int M, int H) { return blocks_for(long(M) * H, kHeadWarps); }

}  // namespace

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

}  // namespace rwkv::cuda

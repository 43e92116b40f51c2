#include "cpu/wkv6.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"
#include "cpu/profile.h"
#include "cpu/isa.h"
#include "cpu/threadpool.h"
#include "cpu/wkv_kernels.h"

namespace rwkv {
namespace {

// The reference: the spec's loops as written. Rows of S are contiguous over the key index j, so
// every loop below runs over j. Sums over j run in W partial sums (one running sum may not be
// reordered without -ffast-math, so it would not vectorise); N is a multiple of W.
constexpr int W = 8;

inline float lane_sum(const float* acc) {
  float s = 0.f;
  for (int l = 0; l < W; ++l) s += acc[l];
  return s;
}

void check_shape(const Wkv6Shape& s) {
  if (s.N <= 0 || s.N % W != 0)
    throw RwkvError("wkv6: head size " + std::to_string(s.N) + " is not a positive multiple of 8");
  if (s.B <= 0 || s.H <= 0 || s.T < 0) throw RwkvError("wkv6: bad shape (B, T, H must be positive)");
}

// du = Σ over the batch of the per-(sequence, head) rows du_bh [B, H, N] (no-op when du is null).
void sum_du(const Wkv6Shape& s, const std::vector<float>& du_bh, float* du) {
  if (!du) return;
  const size_t hn = size_t(s.H) * s.N;
  std::fill(du, du + hn, 0.f);
  for (int b = 0; b < s.B; ++b)
    for (size_t x = 0; x < hn; ++x) du[x] += du_bh[b * hn + x];
}

// Σ_j a[j]·b[j]·c[j]
inline float dot3(const float* __restrict a, const float* __restrict b, const float* __restrict c, int N) {
  float acc[W] = {};
  for (int j = 0; j < N; j += W)
    for (int l = 0; l < W; ++l) acc[l] += a[j + l] * b[j + l] * c[j + l];
  return lane_sum(acc);
}

// One forward step of one head: y (may be null) from the state before the update, then the update.
// (__restrict on the parameters, which GCC honours there and not on locals, lets the loops vectorise.)
inline void step_forward(float* __restrict S, const float* __restrict r, const float* __restrict k,
                         const float* __restrict v, const float* __restrict w, const float* __restrict u,
                         float* __restrict y, int N) {
  const float ruk = dot3(r, u, k, N);
  for (int i = 0; i < N; ++i) {
    float* row = S + size_t(i) * N;
    float acc[W] = {};
    for (int j = 0; j < N; j += W)
      for (int l = 0; l < W; ++l) {
        const float s = row[j + l];
        acc[l] += r[j + l] * s;
        row[j + l] = s * w[j + l] + v[i] * k[j + l];
      }
    if (y) y[i] = lane_sum(acc) + ruk * v[i];
  }
}

// Row i of one backward step: the column sums over i of dk, dw, dr gain this row's terms, and the
// row of G steps back (G ← G·diag(w) + dy_i·r); returns Σ_j G_ij·k_j (before the step) for dv_i.
inline float backward_row(int N, float dyi, float vi, const float* __restrict sp, const float* __restrict r,
                          const float* __restrict k, const float* __restrict w, float* __restrict g,
                          float* __restrict ak, float* __restrict aw, float* __restrict ar) {
  float dvacc[W] = {};
  for (int j = 0; j < N; j += W)
    for (int l = 0; l < W; ++l) {
      const float gj = g[j + l], sj = sp[j + l];
      dvacc[l] += gj * k[j + l];
      ak[j + l] += gj * vi;
      aw[j + l] += gj * sj;
      ar[j + l] += dyi * sj;
      g[j + l] = gj * w[j + l] + dyi * r[j + l];
    }
  return lane_sum(dvacc);
}

void forward_reference(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                       const float* u, float* state, float* y, float* checkpoints) {
  const int N = s.N, C = s.C(), T = s.T, H = s.H, nc = s.chunks();
  const size_t NN = size_t(N) * N;
  parallel_for(long(s.B) * H, [&](long bh0, long bh1) {
    for (long bh = bh0; bh < bh1; ++bh) {
      const long b = bh / H, h = bh % H;
      float* S = state + bh * NN;
      const float* uh = u + h * N;
      for (int t = 0; t < T; ++t) {
        if (checkpoints && t % Wkv6Shape::kChunk == 0)
          std::memcpy(checkpoints + (size_t(bh) * nc + t / Wkv6Shape::kChunk) * NN, S, NN * sizeof(float));
        const size_t off = (size_t(b) * T + t) * C + h * N;
        step_forward(S, r + off, k + off, v + off, w + off, uh, y + off, N);
      }
    }
  });
}

void backward_reference(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                        const float* u, const float* checkpoints, const float* dy, float* dstate, float* dr,
                        float* dk, float* dv, float* dw, float* du) {
  const int N = s.N, C = s.C(), T = s.T, H = s.H, nc = s.chunks(), Lc = Wkv6Shape::kChunk;
  const size_t NN = size_t(N) * N;
  // du is summed over the batch: each (b,h) task writes its own row, summed at the end.
  std::vector<float> du_bh(du ? size_t(s.B) * H * N : 0, 0.f);

  parallel_for(long(s.B) * H, [&](long bh0, long bh1) {
    // states[m] = S before local step m of the current chunk (recomputed from its checkpoint).
    std::vector<float> states(Lc * NN);
    std::vector<float> acc(3 * size_t(N));  // column sums over i: dk, dw, dr
    for (long bh = bh0; bh < bh1; ++bh) {
      const long b = bh / H, h = bh % H;
      float* G = dstate + bh * NN;
      const float* uh = u + h * N;
      float* duh = du ? du_bh.data() + bh * N : nullptr;
      for (int c = nc - 1; c >= 0; --c) {
        const int t0 = c * Lc, len = std::min(Lc, T - t0);
        std::memcpy(states.data(), checkpoints + (size_t(bh) * nc + c) * NN, NN * sizeof(float));
        for (int m = 1; m < len; ++m) {
          const size_t off = (size_t(b) * T + t0 + m - 1) * C + h * N;
          float* S = states.data() + m * NN;
          std::memcpy(S, S - NN, NN * sizeof(float));
          step_forward(S, r + off, k + off, v + off, w + off, uh, nullptr, N);
        }
        for (int m = len - 1; m >= 0; --m) {
          const size_t off = (size_t(b) * T + t0 + m) * C + h * N;
          const float *rt = r + off, *kt = k + off, *vt = v + off, *wt = w + off, *dyt = dy + off;
          const float* Sp = states.data() + m * NN;  // S_{t−1}
          float q = 0.f;
          for (int i = 0; i < N; ++i) q += dyt[i] * vt[i];
          const float ruk = dot3(rt, uh, kt, N);
          float *ak = acc.data(), *aw = ak + N, *ar = aw + N;
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int i = 0; i < N; ++i) {
            float* g = G + size_t(i) * N;
            const float* sp = Sp + size_t(i) * N;
            const float dvi = backward_row(N, dyt[i], vt[i], sp, rt, kt, wt, g, ak, aw, ar);
            if (dv) dv[off + i] = dvi + dyt[i] * ruk;
          }
          for (int j = 0; j < N; ++j) {
            if (dk) dk[off + j] = ak[j] + rt[j] * uh[j] * q;
            if (dw) dw[off + j] = aw[j];
            if (dr) dr[off + j] = ar[j] + uh[j] * kt[j] * q;
            if (duh) duh[j] += rt[j] * kt[j] * q;
          }
        }
      }
    }
  });
  sum_du(s, du_bh, du);
}

wkv::Wkv6Head head_of(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                      const float* u, long pair) {
  const long C = s.C(), b = pair / s.H, h = pair % s.H;
  return {s.T, s.N, C, b * s.T * C + h * s.N, r, k, v, w, u + h * s.N};
}

}  // namespace

void wkv6_forward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                  const float* u, float* state, float* y, float* checkpoints, WkvImpl impl) {
  check_shape(s);
  RWKV_STAGE(Wkv);
  impl = wkv_choose(impl, WkvOp::V6Forward, s.T, s.N);
  if (impl == WkvImpl::Reference) return forward_reference(s, r, k, v, w, u, state, y, checkpoints);
  const wkv::Kernels& K = wkv::kernels(active_isa());
  const long NN = long(s.N) * s.N, ckp = long(s.chunks()) * NN;
  if (impl == WkvImpl::Chunked) {
    parallel_for(long(s.B) * s.H, [&](long p0, long p1) {
      for (long p = p0; p < p1; ++p)
        K.v6_forward_chunked(head_of(s, r, k, v, w, u, p), state + p * NN, y,
                             checkpoints ? checkpoints + p * ckp : nullptr);
    });
    return;
  }
  const int slab = K.forward_slab(s.N), slabs = s.N / slab;
  parallel_for(long(s.B) * s.H * slabs, [&](long x0, long x1) {
    for (long x = x0; x < x1; ++x) {
      const long p = x / slabs;
      K.v6_forward_seq(head_of(s, r, k, v, w, u, p), int(x % slabs) * slab, state + p * NN, y,
                       checkpoints ? checkpoints + p * ckp : nullptr);
    }
  });
}

void wkv6_backward(const Wkv6Shape& s, const float* r, const float* k, const float* v, const float* w,
                   const float* u, const float* checkpoints, const float* dy, float* dstate, float* dr,
                   float* dk, float* dv, float* dw, float* du, WkvImpl impl) {
  check_shape(s);
  RWKV_STAGE(Wkv);
  impl = wkv_choose(impl, WkvOp::V6Backward, s.T, s.N);
  if (impl == WkvImpl::Reference)
    return backward_reference(s, r, k, v, w, u, checkpoints, dy, dstate, dr, dk, dv, dw, du);
  const wkv::Kernels& K = wkv::kernels(active_isa());
  const auto run = impl == WkvImpl::Chunked ? K.v6_backward_chunked : K.v6_backward_seq;
  const long NN = long(s.N) * s.N, ckp = long(s.chunks()) * NN;
  std::vector<float> du_bh(du ? size_t(s.B) * s.H * s.N : 0, 0.f);
  parallel_for(long(s.B) * s.H, [&](long p0, long p1) {
    for (long p = p0; p < p1; ++p)
      run(head_of(s, r, k, v, w, u, p), checkpoints + p * ckp, dy, dstate + p * NN, dr, dk, dv, dw,
          du ? du_bh.data() + p * s.N : nullptr);
  });
  sum_du(s, du_bh, du);
}

}  // namespace rwkv

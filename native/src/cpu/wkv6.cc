#include "cpu/wkv6.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/isa.h"
#include "cpu/tensor.h"
#include "cpu/threadpool.h"
#include "cpu/wkv_kernels.h"

namespace rwkv {
namespace {

// The reference. 8 fp32 lanes through GCC/Clang vector extensions, compiled for the build's
// baseline -march. Rows of S are contiguous over the key index j, so every loop below runs over j
// in blocks of 8.
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
constexpr int W = 8;

inline v8 ld(const float* p) { return *reinterpret_cast<const v8*>(p); }
inline void st(float* p, v8 x) { *reinterpret_cast<v8*>(p) = x; }
inline v8 splat(float x) { return v8{} + x; }
inline float hsum(v8 x) {
  float s = 0.f;
  for (int l = 0; l < W; ++l) s += x[l];
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
inline float dot3(const float* a, const float* b, const float* c, int N) {
  v8 acc{};
  for (int j = 0; j < N; j += W) acc += ld(a + j) * ld(b + j) * ld(c + j);
  return hsum(acc);
}

// One forward step of one head: y (may be null) from the state before the update, then the update.
inline void step_forward(float* S, const float* r, const float* k, const float* v, const float* w,
                         const float* u, float* y, int N) {
  const float ruk = dot3(r, u, k, N);
  for (int i = 0; i < N; ++i) {
    float* row = S + size_t(i) * N;
    const v8 vi = splat(v[i]);
    v8 acc{};
    for (int j = 0; j < N; j += W) {
      const v8 s = ld(row + j);
      acc += ld(r + j) * s;
      st(row + j, s * ld(w + j) + vi * ld(k + j));
    }
    if (y) y[i] = hsum(acc) + ruk * v[i];
  }
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
            const v8 vi = splat(vt[i]), dyi = splat(dyt[i]);
            v8 dvacc{};
            for (int j = 0; j < N; j += W) {
              const v8 gj = ld(g + j), sj = ld(sp + j);
              dvacc += gj * ld(kt + j);
              st(ak + j, ld(ak + j) + gj * vi);
              st(aw + j, ld(aw + j) + gj * sj);
              st(ar + j, ld(ar + j) + dyi * sj);
              st(g + j, gj * ld(wt + j) + dyi * ld(rt + j));
            }
            if (dv) dv[off + i] = hsum(dvacc) + dyt[i] * ruk;
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
  impl = wkv_resolve(impl, long(s.B) * s.H, s.T, s.N);
  const wkv::Kernels& K = wkv::kernels(active_isa());
  if (impl == WkvImpl::Reference || !K.supports(s.N))
    return forward_reference(s, r, k, v, w, u, state, y, checkpoints);
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
  impl = wkv_resolve(impl, long(s.B) * s.H, s.T, s.N);
  const wkv::Kernels& K = wkv::kernels(active_isa());
  if (impl == WkvImpl::Reference || !K.supports(s.N))
    return backward_reference(s, r, k, v, w, u, checkpoints, dy, dstate, dr, dk, dv, dw, du);
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

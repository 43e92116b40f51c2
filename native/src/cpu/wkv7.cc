#include "cpu/wkv7.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/threadpool.h"

namespace rwkv {
namespace {

// Rows of the state are contiguous over the key index j, so every inner loop runs over j and
// vectorises; one (sequence, head) pair is one task.
struct HeadStep {
  const float *r, *w, *k, *v, *a, *b;  // this head's N entries at time t
};

inline void decay_of(int N, const float* w_hat, float* decay) {
  for (int j = 0; j < N; ++j) decay[j] = std::exp(-std::exp(w_hat[j]));
}

// One forward step; writes sa (N) when non-null and y (N) when non-null.
inline void step(int N, float* __restrict S, const HeadStep& in, const float* __restrict decay,
                 float* __restrict sa_out, float* __restrict y) {
  for (int i = 0; i < N; ++i) {
    float* __restrict row = S + long(i) * N;
    float sa = 0.f;
    for (int j = 0; j < N; ++j) sa += row[j] * in.a[j];
    const float vi = in.v[i];
    float yi = 0.f;
    for (int j = 0; j < N; ++j) {
      const float s = row[j] * decay[j] + sa * in.b[j] + vi * in.k[j];
      row[j] = s;
      yi += s * in.r[j];
    }
    if (sa_out) sa_out[i] = sa;
    if (y) y[i] = yi;
  }
}

HeadStep at(const Wkv7In& in, long off) {
  return {in.r + off, in.w + off, in.k + off, in.v + off, in.a + off, in.b + off};
}

void backward_head(int T, int N, long C, const Wkv7In& in, long base, const float* s0, const float* dy,
                   const float* dsT, const Wkv7Grad& g, float* G) {
  const long NN = long(N) * N;
  const int L = kWkv7Chunk, nc = (T + L - 1) / L;
  std::vector<float> ck(size_t(nc) * NN), S(size_t(L + 1) * NN), sa(size_t(L) * N), decay(size_t(L) * N);
  std::vector<float> dsa(N), dd(N);
  // Checkpoints: the state before each chunk.
  std::vector<float> cur(s0, s0 + NN);
  for (int c = 0; c < nc; ++c) {
    std::memcpy(ck.data() + c * NN, cur.data(), NN * sizeof(float));
    for (int t = c * L; t < std::min(T, (c + 1) * L); ++t) {
      const HeadStep st = at(in, base + t * C);
      decay_of(N, st.w, decay.data());
      step(N, cur.data(), st, decay.data(), nullptr, nullptr);
    }
  }
  if (dsT) std::memcpy(G, dsT, NN * sizeof(float)); else std::fill(G, G + NN, 0.f);
  for (int c = nc - 1; c >= 0; --c) {
    const int t0 = c * L, n = std::min(T, t0 + L) - t0;
    // Recompute S_{t0−1} … S_{t0+n−1} into S[0..n] and sa, decay per step.
    std::memcpy(S.data(), ck.data() + c * NN, NN * sizeof(float));
    for (int u = 0; u < n; ++u) {
      std::memcpy(S.data() + (u + 1) * NN, S.data() + u * NN, NN * sizeof(float));
      const HeadStep st = at(in, base + (t0 + u) * C);
      decay_of(N, st.w, decay.data() + u * N);
      step(N, S.data() + (u + 1) * NN, st, decay.data() + u * N, sa.data() + u * N, nullptr);
    }
    for (int u = n - 1; u >= 0; --u) {
      const long off = base + (t0 + u) * C;
      const HeadStep st = at(in, off);
      const float* __restrict dyt = dy + off;
      const float* __restrict St = S.data() + (u + 1) * NN;
      const float* __restrict Sp = S.data() + u * NN;
      const float* __restrict sat = sa.data() + u * N;
      const float* __restrict w = decay.data() + u * N;
      float *__restrict dr = g.dr + off, *__restrict dk = g.dk + off, *__restrict db = g.db + off;
      float *__restrict dv = g.dv + off, *__restrict da = g.da + off;
      std::fill(dr, dr + N, 0.f); std::fill(dk, dk + N, 0.f); std::fill(db, db + N, 0.f);
      std::fill(da, da + N, 0.f); std::fill(dd.begin(), dd.end(), 0.f);
      for (int i = 0; i < N; ++i) {
        float* __restrict Gi = G + long(i) * N;
        const float* __restrict Sti = St + long(i) * N;
        const float* __restrict Spi = Sp + long(i) * N;
        const float dyi = dyt[i], vi = st.v[i], sai = sat[i];
        float dvi = 0.f, dsai = 0.f;
        for (int j = 0; j < N; ++j) {
          dr[j] += Sti[j] * dyi;
          const float gij = Gi[j] + dyi * st.r[j];  // ∂L/∂S_t
          Gi[j] = gij;
          dvi += gij * st.k[j];
          dsai += gij * st.b[j];
          dk[j] += gij * vi;
          db[j] += gij * sai;
          dd[j] += gij * Spi[j];
        }
        dv[i] = dvi;
        dsa[i] = dsai;
      }
      for (int i = 0; i < N; ++i) {
        float* __restrict Gi = G + long(i) * N;
        const float* __restrict Spi = Sp + long(i) * N;
        const float dsai = dsa[i];
        for (int j = 0; j < N; ++j) {
          da[j] += Spi[j] * dsai;
          Gi[j] = Gi[j] * w[j] + dsai * st.a[j];  // ∂L/∂S_{t−1}
        }
      }
      float* __restrict dw = g.dw + off;
      for (int j = 0; j < N; ++j) dw[j] = dd[j] * w[j] * -std::exp(st.w[j]);
    }
  }
}

}  // namespace

void wkv7_forward(int B, int T, int H, int N, const Wkv7In& in, float* state, float* y) {
  const long C = long(H) * N, NN = long(N) * N;
  parallel_for(long(B) * H, [&](long p0, long p1) {
    std::vector<float> decay(N);
    for (long p = p0; p < p1; ++p) {
      const long b = p / H, h = p % H;
      float* S = state + p * NN;
      for (int t = 0; t < T; ++t) {
        const long off = (b * T + t) * C + h * N;
        const HeadStep st = at(in, off);
        decay_of(N, st.w, decay.data());
        step(N, S, st, decay.data(), nullptr, y + off);
      }
    }
  });
}

void wkv7_backward(int B, int T, int H, int N, const Wkv7In& in, const float* s0, const float* dy,
                   const float* dsT, const Wkv7Grad& grad, float* ds0) {
  const long C = long(H) * N, NN = long(N) * N;
  parallel_for(long(B) * H, [&](long p0, long p1) {
    for (long p = p0; p < p1; ++p) {
      const long b = p / H, h = p % H;
      backward_head(T, N, C, in, b * T * C + h * N, s0 + p * NN, dy, dsT ? dsT + p * NN : nullptr, grad,
                    ds0 + p * NN);
    }
  });
}

}  // namespace rwkv

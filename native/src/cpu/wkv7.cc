#include "cpu/wkv7.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/isa.h"
#include "cpu/profile.h"
#include "cpu/scratch_buf.h"
#include "cpu/threadpool.h"
#include "cpu/vmath.h"
#include "cpu/wkv_kernels.h"

namespace rwkv {
namespace {

// The reference: the spec's loops as written. Rows of the state are contiguous over the key index j,
// so every inner loop runs over j; one (sequence, head) pair is one task.
struct HeadStep {
  const float *r, *w, *k, *v, *a, *b;  // this head's N entries at time t
};

// Σ x[j]·y[j] over kLanes independent partial sums: a single running sum may not be reordered
// without -ffast-math, so it would not vectorise; these lanes map onto one SIMD register.
constexpr int kLanes = 8;
inline float dot(int n, const float* __restrict x, const float* __restrict y) {
  float acc[kLanes] = {};
  int j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int u = 0; u < kLanes; ++u) acc[u] += x[j + u] * y[j + u];
  float s = 0.f;
  for (int u = 0; u < kLanes; ++u) s += acc[u];
  for (; j < n; ++j) s += x[j] * y[j];
  return s;
}

// The elementwise row kernels below take __restrict parameters (which GCC honours on function
// parameters, unlike on locals) so their loops over j vectorise.

// row ← row ⊙ decay + sa·b + v_i·k
inline void update_row(int N, float* __restrict row, const float* __restrict decay, const float* __restrict b,
                       const float* __restrict k, float sa, float vi) {
  for (int j = 0; j < N; ++j) row[j] = row[j] * decay[j] + sa * b[j] + vi * k[j];
}

// First backward pass over row i: G_i += dy_i·r (now ∂L/∂S_t), and the per-key sums of dr, dk, db, dd.
inline void backward_row(int N, float dyi, float vi, float sai, const float* __restrict St, const float* __restrict Sp,
                         const float* __restrict r, float* __restrict G, float* __restrict dr, float* __restrict dk,
                         float* __restrict db, float* __restrict dd) {
  for (int j = 0; j < N; ++j) {
    dr[j] += St[j] * dyi;
    const float g = G[j] + dyi * r[j];
    G[j] = g;
    dk[j] += g * vi;
    db[j] += g * sai;
    dd[j] += g * Sp[j];
  }
}

// Second pass over row i: da += S_{t−1,i}·dsa_i; G_i ← G_i ⊙ w + dsa_i·a (now ∂L/∂S_{t−1}).
inline void backward_row_state(int N, float dsai, const float* __restrict Sp, const float* __restrict w,
                               const float* __restrict a, float* __restrict G, float* __restrict da) {
  for (int j = 0; j < N; ++j) {
    da[j] += Sp[j] * dsai;
    G[j] = G[j] * w[j] + dsai * a[j];
  }
}

inline void decay_of(int N, const float* w_hat, float* decay) {
  for (int j = 0; j < N; ++j) decay[j] = vmath::exp(-vmath::exp(w_hat[j]));
}

// One forward step; writes sa (N) when non-null and y (N) when non-null.
inline void step(int N, float* S, const HeadStep& in, const float* decay, float* sa_out, float* y) {
  for (int i = 0; i < N; ++i) {
    float* row = S + long(i) * N;
    const float sa = dot(N, row, in.a), vi = in.v[i];
    update_row(N, row, decay, in.b, in.k, sa, vi);
    if (sa_out) sa_out[i] = sa;
    if (y) y[i] = dot(N, row, in.r);
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
      const float* dyt = dy + off;
      const float* St = S.data() + (u + 1) * NN;
      const float* Sp = S.data() + u * NN;
      const float* sat = sa.data() + u * N;
      const float* w = decay.data() + u * N;
      float *dr = g.dr + off, *dk = g.dk + off, *db = g.db + off;
      float *dv = g.dv + off, *da = g.da + off;
      std::fill(dr, dr + N, 0.f); std::fill(dk, dk + N, 0.f); std::fill(db, db + N, 0.f);
      std::fill(da, da + N, 0.f); std::fill(dd.begin(), dd.end(), 0.f);
      for (int i = 0; i < N; ++i) {
        float* Gi = G + long(i) * N;
        const float* Sti = St + long(i) * N;
        const float* Spi = Sp + long(i) * N;
        backward_row(N, dyt[i], st.v[i], sat[i], Sti, Spi, st.r, Gi, dr, dk, db, dd.data());
        dv[i] = dot(N, Gi, st.k);
        dsa[i] = dot(N, Gi, st.b);
      }
      for (int i = 0; i < N; ++i) backward_row_state(N, dsa[i], Sp + long(i) * N, w, st.a, G + long(i) * N, da);
      float* dw = g.dw + off;
      for (int j = 0; j < N; ++j) dw[j] = dd[j] * w[j] * -vmath::exp(st.w[j]);
    }
  }
}

void forward_reference(int B, int T, int H, int N, const Wkv7In& in, float* state, float* y, float* saved) {
  const long C = long(H) * N, NN = long(N) * N;
  parallel_for(long(B) * H, [&](long p0, long p1) {
    std::vector<float> decay(N);
    for (long p = p0; p < p1; ++p) {
      const long b = p / H, h = p % H;
      float* S = state + p * NN;
      float *sa = wkv7_saved_pair(saved, p, T, N), *ck = wkv7_saved_checkpoints(sa, T, N);
      for (int t = 0; t < T; ++t) {
        if (ck && t % kWkv7Chunk == 0) std::memcpy(ck + (t / kWkv7Chunk) * NN, S, NN * sizeof(float));
        const long off = (b * T + t) * C + h * N;
        const HeadStep st = at(in, off);
        decay_of(N, st.w, decay.data());
        step(N, S, st, decay.data(), sa ? sa + long(t) * N : nullptr, y ? y + off : nullptr);
      }
    }
  });
}

void backward_reference(int B, int T, int H, int N, const Wkv7In& in, const float* s0, const float* dy,
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

wkv::Wkv7Head head_of(int T, int H, int N, const Wkv7In& in, long pair) {
  const long C = long(H) * N;
  return {T, N, C, (pair / H) * T * C + (pair % H) * N, in};
}

}  // namespace

void wkv7_forward(int B, int T, int H, int N, const Wkv7In& in, float* state, float* y, float* saved,
                  WkvImpl impl) {
  RWKV_STAGE(Wkv);
  impl = wkv_choose(impl, WkvOp::V7Forward, T, N);
  if (impl == WkvImpl::Reference) return forward_reference(B, T, H, N, in, state, y, saved);
  const wkv::Kernels& K = wkv::kernels(active_isa());
  const long C = long(H) * N, NN = long(N) * N;
  if (impl == WkvImpl::Chunked) {
    parallel_for(long(B) * H, [&](long p0, long p1) {
      for (long p = p0; p < p1; ++p)
        K.v7_forward_chunked(head_of(T, H, N, in, p), state + p * NN, y, wkv7_saved_pair(saved, p, T, N));
    });
    return;
  }
  // Sequential: the decays once for all rows, then one task per (pair, slab of value channels), or
  // per pair for a single step (RNN mode).
  WKV_SCRATCH(decay, size_t(B) * T * C);
  parallel_for(long(B) * T, [&](long r0, long r1) { K.v7_decay((r1 - r0) * C, in.w + r0 * C, decay + r0 * C); });
  if (T == 1 && !saved) {
    parallel_for(long(B) * H, [&](long p0, long p1) {
      for (long p = p0; p < p1; ++p) K.v7_step(head_of(T, H, N, in, p), decay, state + p * NN, y);
    });
    return;
  }
  const int slab = K.forward_slab(N), slabs = N / slab;
  parallel_for(long(B) * H * slabs, [&](long x0, long x1) {
    for (long x = x0; x < x1; ++x) {
      const long p = x / slabs;
      K.v7_forward_seq(head_of(T, H, N, in, p), int(x % slabs) * slab, decay, state + p * NN, y,
                       wkv7_saved_pair(saved, p, T, N));
    }
  });
}

void wkv7_backward(int B, int T, int H, int N, const Wkv7In& in, const float* s0, const float* dy,
                   const float* dsT, const Wkv7Grad& grad, float* ds0, const float* saved, WkvImpl impl) {
  RWKV_STAGE(Wkv);
  impl = wkv_choose(impl, saved ? WkvOp::V7BackwardSaved : WkvOp::V7Backward, T, N);
  if (impl == WkvImpl::Reference) return backward_reference(B, T, H, N, in, s0, dy, dsT, grad, ds0);
  const long NN = long(N) * N;
  ScratchBuf own;  // without the forward's saves: this variant's forward pass makes them first
  if (!saved) {
    own.resize(wkv7_saved_floats(B, T, H, N));
    ScratchBuf state(s0, s0 + B * H * NN);
    wkv7_forward(B, T, H, N, in, state.data(), nullptr, own.data(), impl);
    saved = own.data();
  }
  const wkv::Kernels& K = wkv::kernels(active_isa());
  const auto run = impl == WkvImpl::Chunked ? K.v7_backward_chunked : K.v7_backward_seq;
  parallel_for(long(B) * H, [&](long p0, long p1) {
    for (long p = p0; p < p1; ++p)
      run(head_of(T, H, N, in, p), dy, dsT ? dsT + p * NN : nullptr, grad, ds0 + p * NN,
          wkv7_saved_pair(saved, p, T, N));
  });
}

}  // namespace rwkv

#include "cpu/token_shift.h"

#include <cstring>

#include "cpu/norm.h"
#include "cpu/rows.h"

namespace rwkv {

void norm_shift(int B, int T, int C, const float* x, const float* ln_w, const float* ln_b, float* shift, float* xn,
                float* d) {
  layer_norm(B * T, C, x, ln_w, ln_b, xn);
  token_shift(B, T, C, xn, shift, d);
  last_rows(B, T, C, xn, shift);
}

void norm_shift_backward(int B, int T, int C, const float* x, const float* ln_w, float* dxn, const float* dd,
                         float* dshift, float* dx) {
  add_last_rows(B, T, C, dshift, dxn);
  token_shift_backward(B, T, C, dd, dxn, dshift);
  layer_norm_backward(B * T, C, x, ln_w, dxn, dx, true);
}

void token_shift(int B, int T, int C, const float* x, const float* prev0, float* d) {
  for_rows(long(B) * T, [&](long m) {
    const float* __restrict cur = x + m * C;
    const float* __restrict prev = m % T ? cur - C : prev0 + (m / T) * C;
    float* __restrict o = d + m * C;
    for (int c = 0; c < C; ++c) o[c] = prev[c] - cur[c];
  });
}

void last_rows(int B, int T, int C, const float* x, float* out) {
  for (int b = 0; b < B; ++b) std::memcpy(out + long(b) * C, x + (long(b) * T + T - 1) * C, C * sizeof(float));
}

void shift_mix(long M, int C, const float* x, const float* d, const float* mu, float* out) {
  for_rows(M, [&](long m) {
    const float* __restrict xm = x + m * C;
    const float* __restrict dm = d + m * C;
    float* __restrict o = out + m * C;
    for (int c = 0; c < C; ++c) o[c] = xm[c] + dm[c] * mu[c];
  });
}

void shift_mix_backward(long M, int C, const float* dout, const float* mu, float* dx, float* dd) {
  for_rows(M, [&](long m) {
    const float* __restrict g = dout + m * C;
    float* __restrict gx = dx + m * C;
    float* __restrict gd = dd + m * C;
    for (int c = 0; c < C; ++c) {
      gx[c] += g[c];
      gd[c] += g[c] * mu[c];
    }
  });
}

void token_shift_backward(int B, int T, int C, const float* dd, float* dx, float* dprev0) {
  for_rows(long(B) * T, [&](long m) {
    const float* __restrict cur = dd + m * C;
    float* __restrict g = dx + m * C;
    if ((m + 1) % T) {
      const float* __restrict next = cur + C;
      for (int c = 0; c < C; ++c) g[c] += next[c] - cur[c];
    } else {
      for (int c = 0; c < C; ++c) g[c] -= cur[c];
    }
  });
  if (dprev0)
    for (int b = 0; b < B; ++b) std::memcpy(dprev0 + long(b) * C, dd + long(b) * T * C, C * sizeof(float));
}

void add_last_rows(int B, int T, int C, const float* g, float* dx) {
  for (int b = 0; b < B; ++b) {
    const float* gb = g + long(b) * C;
    float* row = dx + (long(b) * T + T - 1) * C;
    for (int c = 0; c < C; ++c) row[c] += gb[c];
  }
}

}  // namespace rwkv

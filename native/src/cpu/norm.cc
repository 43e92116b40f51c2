#include "cpu/norm.h"

#include <cmath>

#include "cpu/threadpool.h"

namespace rwkv {
namespace {

struct Stats { float mean, rstd; };

// Two-pass mean/variance of one segment (biased variance, as torch).
Stats stats(int n, const float* x, float eps) {
  float s = 0.f;
  for (int i = 0; i < n; ++i) s += x[i];
  const float mean = s / n;
  float q = 0.f;
  for (int i = 0; i < n; ++i) { const float d = x[i] - mean; q += d * d; }
  return {mean, 1.f / std::sqrt(q / n + eps)};
}

void norm_segment(int n, const float* x, const float* w, const float* b, float* y, float eps) {
  const Stats st = stats(n, x, eps);
  for (int i = 0; i < n; ++i) y[i] = (x[i] - st.mean) * st.rstd * w[i] + b[i];
}

// dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)), g = dy ⊙ w.
void norm_segment_backward(int n, const float* x, const float* w, const float* dy, float* dx,
                           bool accumulate, float eps) {
  const Stats st = stats(n, x, eps);
  float sg = 0.f, sgx = 0.f;
  for (int i = 0; i < n; ++i) {
    const float g = dy[i] * w[i], xh = (x[i] - st.mean) * st.rstd;
    sg += g; sgx += g * xh;
  }
  sg /= n; sgx /= n;
  for (int i = 0; i < n; ++i) {
    const float xh = (x[i] - st.mean) * st.rstd;
    const float d = st.rstd * (dy[i] * w[i] - sg - xh * sgx);
    dx[i] = accumulate ? dx[i] + d : d;
  }
}

}  // namespace

void layer_norm(int M, int C, const float* x, const float* weight, const float* bias, float* y, float eps) {
  group_norm(M, 1, C, x, weight, bias, y, eps);
}

void layer_norm_backward(int M, int C, const float* x, const float* weight, const float* dy, float* dx,
                         bool accumulate, float eps) {
  group_norm_backward(M, 1, C, x, weight, dy, dx, accumulate, eps);
}

void group_norm(int M, int G, int N, const float* x, const float* weight, const float* bias, float* y,
                float eps) {
  const long C = long(G) * N;
  parallel_for(long(M) * G, [&](long b, long e) {
    for (long r = b; r < e; ++r) {
      const long m = r / G, g = r % G, off = m * C + g * N;
      norm_segment(N, x + off, weight + g * N, bias + g * N, y + off, eps);
    }
  }, 16);
}

void group_norm_backward(int M, int G, int N, const float* x, const float* weight, const float* dy,
                         float* dx, bool accumulate, float eps) {
  const long C = long(G) * N;
  parallel_for(long(M) * G, [&](long b, long e) {
    for (long r = b; r < e; ++r) {
      const long m = r / G, g = r % G, off = m * C + g * N;
      norm_segment_backward(N, x + off, weight + g * N, dy + off, dx + off, accumulate, eps);
    }
  }, 16);
}

}  // namespace rwkv

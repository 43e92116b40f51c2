#include "cpu/norm.h"

#include <cmath>

#include "cpu/profile.h"
#include "cpu/threadpool.h"

namespace rwkv {
struct NormStats { float mean, rstd; };
}  // namespace rwkv

#define RWKV_PER_ISA_FILE "cpu/norm.inc"
#include "cpu/per_isa.h"

namespace rwkv {

void layer_norm(int M, int C, const float* x, const float* weight, const float* bias, float* y, float eps) {
  group_norm(M, 1, C, x, weight, bias, y, eps);
}

void layer_norm_backward(int M, int C, const float* x, const float* weight, const float* dy, float* dx,
                         bool accumulate, float eps) {
  group_norm_backward(M, 1, C, x, weight, dy, dx, accumulate, eps);
}

// Rows of [M, G·N] are M·G independent segments of N; threads take ranges of segments.
void group_norm(int M, int G, int N, const float* x, const float* weight, const float* bias, float* y,
                float eps) {
  RWKV_STAGE(Norm);
  const auto rows = RWKV_PER_ISA(norm_rows);
  parallel_for(long(M) * G, [&](long b, long e) { rows(b, e, G, N, x, weight, bias, y, eps); }, 16);
}

void group_norm_backward(int M, int G, int N, const float* x, const float* weight, const float* dy,
                         float* dx, bool accumulate, float eps) {
  RWKV_STAGE(Norm);
  const auto rows = RWKV_PER_ISA(norm_rows_backward);
  parallel_for(long(M) * G, [&](long b, long e) { rows(b, e, G, N, x, weight, dy, dx, accumulate, eps); }, 16);
}

}  // namespace rwkv

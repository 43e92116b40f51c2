#include "cpu/token_shift.h"

#include <cstring>

#include "cpu/norm.h"
#include "cpu/threadpool.h"

#define RWKV_PER_ISA_FILE "cpu/token_shift.inc"
#include "cpu/per_isa.h"

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

// Rows per task: a row is C floats of work, so a few rows amortise a task's cost.
constexpr long kGrain = 8;

void token_shift(int B, int T, int C, const float* x, const float* prev0, float* d) {
  const auto k = RWKV_PER_ISA(token_shift_rows);
  parallel_for(long(B) * T, [&](long m0, long m1) { k(m0, m1, T, C, x, prev0, d); }, kGrain);
}

void shift_mix_from(int B, int T, int C, const float* x, const float* prev0, const float* mu, float* out) {
  const auto k = RWKV_PER_ISA(shift_mix_from_rows);
  parallel_for(long(B) * T, [&](long m0, long m1) { k(m0, m1, T, C, x, prev0, mu, out); }, kGrain);
}

void last_rows(int B, int T, int C, const float* x, float* out) {
  for (int b = 0; b < B; ++b) std::memcpy(out + long(b) * C, x + (long(b) * T + T - 1) * C, C * sizeof(float));
}

void shift_mix(long M, int C, const float* x, const float* d, const float* mu, float* out) {
  const auto k = RWKV_PER_ISA(shift_mix_rows);
  parallel_for(M, [&](long m0, long m1) { k(m0, m1, C, x, d, mu, out); }, kGrain);
}

void shift_mix_backward(long M, int C, const float* dout, const float* mu, float* dx, float* dd) {
  const auto k = RWKV_PER_ISA(shift_mix_backward_rows);
  parallel_for(M, [&](long m0, long m1) { k(m0, m1, C, dout, mu, dx, dd); }, kGrain);
}

void token_shift_backward(int B, int T, int C, const float* dd, float* dx, float* dprev0) {
  const auto k = RWKV_PER_ISA(token_shift_backward_rows);
  parallel_for(long(B) * T, [&](long m0, long m1) { k(m0, m1, T, C, dd, dx); }, kGrain);
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

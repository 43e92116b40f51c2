// Branch-free float exp / log / activations for the model's elementwise work (per token and
// channel the model evaluates ~7 transcendental functions, and the softmax one per vocabulary
// entry). Inline and call-free, unlike libm, and loops over them vectorise: every selection is
// made on integers (float bit patterns), because GCC, under its default -ftrapping-math, keeps a
// float comparison feeding a select as a branch, and a branch stops vectorisation.
// Measured against double-precision libm: exp and log within 1e-7 relative, sigmoid/tanh within
// 2e-7 absolute, softplus within 1.3e-7.
#pragma once
#include <cstdint>
#include <cstring>

namespace rwkv::vmath {

inline float bits_to_float(int32_t i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int32_t float_to_bits(float f) { int32_t i; std::memcpy(&i, &f, 4); return i; }

// x clamped to [−87.3, 88.3], on bit patterns: positive floats order like their bits as signed
// integers, negative floats in reverse. min(a, b) = b + ((a − b) & sign(a − b)), in 64 bits so the
// difference cannot overflow; written without a select so that no constant-folded path (a branch)
// appears for the saturated case.
inline int32_t min_i(int32_t a, int32_t b) {
  const int64_t d = int64_t(a) - b;
  return int32_t(b + (d & (d >> 63)));
}
inline float clamp_exp_arg(float x) {
  const int32_t ix = min_i(float_to_bits(x), float_to_bits(88.3f));  // above 88.3
  const int32_t neg = ix >> 31;                                        // all ones for x < 0
  return bits_to_float((min_i(ix, float_to_bits(-87.3f)) & neg) | (ix & ~neg));  // below −87.3
}

// e^x: x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact k·ln2), degree-6 polynomial
// for e^r, 2^k through the exponent bits. Saturates below e^−87.3 and above e^88.3.
inline float exp(float x) {
  x = clamp_exp_arg(x);
  const float shifter = 12582912.f;  // 1.5·2^23: adding it rounds to an integer
  const float k = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  return p * bits_to_float((int32_t(k) + 127) << 23);
}

// ln x for finite x > 0: x = m·2^e with m ∈ [√½, √2), polynomial in m − 1.
inline float log(float x) {
  const int32_t bits = float_to_bits(x);
  const bool big = (bits & 0x007fffff) > 0x003504f3;  // mantissa of √2
  const int32_t e = ((bits >> 23) & 0xff) - 127 + (big ? 1 : 0);
  const float m = bits_to_float((bits & 0x007fffff) | (big ? 0x3f000000 : 0x3f800000));  // [√½, √2)
  const float f = m - 1.f, z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  const float fe = float(e);
  float y = p * f * z + fe * -2.12194440e-4f - 0.5f * z;
  return f + y + fe * 0.693359375f;
}

// max(x, 0) through the sign bit.
inline float relu(float x) { const int32_t ix = float_to_bits(x); return bits_to_float(ix < 0 ? 0 : ix); }

inline float sigmoid(float x) { return 1.f / (1.f + exp(-x)); }
inline float tanh(float x) { return 1.f - 2.f / (exp(2.f * x) + 1.f); }
// ln(1 + e^x) without overflow: max(x, 0) + ln(1 + e^−|x|).
inline float softplus(float x) {
  const float neg_abs = bits_to_float(float_to_bits(x) | int32_t(0x80000000));  // −|x|
  return relu(x) + log(1.f + exp(neg_abs));
}

}  // namespace rwkv::vmath

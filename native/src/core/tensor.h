// Plain views of tensors that live in memory owned by JavaScript (ArrayBuffers kept alive by the
// binding) or by the caller. No ownership, no allocation: both backends read weights through these.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace rwkv {

enum class DType : int { F32 = 0, BF16 = 1, F16 = 2 };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
  }
  return "?";
}
inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {  // round to nearest even, NaN kept quiet
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) { man <<= 1; --exp; }
      u = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A read-only weight (or any) tensor: row-major, contiguous.
struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  int64_t numel() const { int64_t n = 1; for (auto s : shape) n *= s; return n; }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  float at(int64_t i) const {
    switch (dtype) {
      case DType::F32: return static_cast<const float*>(data)[i];
      case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
      case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    }
    return 0.f;
  }
  // Copies into fp32 (for small vectors: mixing coefficients, norms, biases).
  std::vector<float> to_f32() const {
    std::vector<float> out(numel());
    for (int64_t i = 0; i < numel(); ++i) out[i] = at(i);
    return out;
  }
  // Copies into bf16 bits (round to nearest even where the tensor is not bf16 already).
  std::vector<uint16_t> to_bf16() const {
    std::vector<uint16_t> out(numel());
    for (int64_t i = 0; i < numel(); ++i)
      out[i] = dtype == DType::BF16 ? static_cast<const uint16_t*>(data)[i] : f32_to_bf16(at(i));
    return out;
  }
};

// A checkpoint's tensors by key.
using TensorMap = std::map<std::string, TensorView>;

// "[2, 3]": a shape in error messages.
inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

}  // namespace rwkv

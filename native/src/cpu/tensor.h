// Plain views of tensors that live in memory owned by JavaScript (ArrayBuffers kept alive
// by the binding) or by the caller. No ownership, no allocation: the math code only reads
// and writes through these.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace rwkv {

enum class DType : int { F32 = 0, BF16 = 1, F16 = 2 };

inline const char* dtype_name(DType t) {
  switch (t) { case DType::F32: return "f32"; case DType::BF16: return "bf16"; case DType::F16: return "f16"; }
  return "?";
}
inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

inline float bf16_to_f32(uint16_t h) { uint32_t u = uint32_t(h) << 16; float f; std::memcpy(&f, &u, 4); return f; }
inline uint16_t f32_to_bf16(float f) {  // round to nearest even, NaN kept quiet
  uint32_t u; std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
float f16_to_f32(uint16_t h);

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
  std::vector<float> to_f32() const { std::vector<float> out(numel()); for (int64_t i = 0; i < numel(); ++i) out[i] = at(i); return out; }
};

// Thrown for user-facing errors (bad key, bad shape); the binding turns it into a JS Error.
struct RwkvError : std::runtime_error { using std::runtime_error::runtime_error; };

// Cooperative cancellation: long loops call check_cancel() between layers/chunks. The flag is an
// int32 in memory JavaScript can write (an AbortSignal sets it to 1).
struct Cancel {
  const volatile int32_t* flag = nullptr;
  bool requested() const { return flag && *flag != 0; }
};
struct Cancelled : std::runtime_error { Cancelled() : std::runtime_error("aborted") {} };
inline void check_cancel(const Cancel& c) { if (c.requested()) throw Cancelled(); }

}  // namespace rwkv

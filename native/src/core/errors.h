// How native work fails and stops, in both backends: a typed user-facing error and cooperative
// cancellation.
#pragma once
#include <cstdint>
#include <stdexcept>

namespace rwkv {

// Thrown for user-facing errors (bad key, bad shape, bad option); the binding turns it into a JS Error.
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

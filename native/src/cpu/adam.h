// One Adam update (core/adam.h) on the CPU, in place on fp32 arrays.
#pragma once
#include "core/adam.h"

namespace rwkv {

void adam_step(long n, float* p, float* m, float* v, const float* g, const AdamParams& opt);

}  // namespace rwkv

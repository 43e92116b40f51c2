#include "cpu/adam.h"

#include <cmath>

#include "cpu/profile.h"
#include "cpu/threadpool.h"

namespace rwkv {

void adam_step(long n, float* p, float* m, float* v, const float* g, const AdamParams& o) {
  RWKV_REGION(Adam);
  // Scalars exactly as torch computes them (step_size and the √ of the second bias correction).
  const float b1 = float(o.beta1), b2 = float(o.beta2), eps = float(o.eps);
  const float step_size = float(o.lr / (1.0 - std::pow(o.beta1, double(o.step))));
  const float inv_bc2_sqrt = float(1.0 / std::sqrt(1.0 - std::pow(o.beta2, double(o.step))));
  parallel_for(n, [&](long b, long e) {
    for (long i = b; i < e; ++i) {
      const float gi = g[i];
      const float mi = b1 * m[i] + (1.f - b1) * gi;
      const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
      m[i] = mi; v[i] = vi;
      p[i] -= step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + eps);
    }
  }, 1 << 14);
}

}  // namespace rwkv

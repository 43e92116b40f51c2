#include "cpu/soft_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/vmath.h"

namespace rwkv {

double soft_row_loss_grad(int V, float* z, const SoftTargets& soft, long m, bool counts, const HeadLossScale& s,
                          bool want_grad) {
  float mx = z[0];
  for (int v = 1; v < V; ++v) mx = std::max(mx, z[v]);
  const int arg = int(std::find(z, z + V, mx) - z);  // first maximum, as for hard targets (L2Wrap)
  double ce = 0;
  if (counts) {
    // z ← e = exp(z − max); p = e / sum, log p = log e − log sum. Sums in double: p(rest) = 1 − p(listed)
    // may be tiny.
    double sum = 0;
    for (int v = 0; v < V; ++v) {
      z[v] = vmath::exp(z[v] - mx);
      sum += z[v];
    }
    const double log_sum = std::log(sum), g = s.ce_grad_scale;
    const auto log_p = [&](double e) { return std::log(std::max(e, 1e-300)) - log_sum; };
    const int k = soft.k;
    const float* q = soft.probs + size_t(m) * k;
    const int32_t* ids = soft.ids ? soft.ids + size_t(m) * k : nullptr;
    if (!ids) {
      for (int v = 0; v < V; ++v) {
        if (q[v] > 0) ce -= double(q[v]) * log_p(z[v]);
        if (want_grad) z[v] = float(g * (z[v] / sum - double(q[v])));
      }
    } else {
      thread_local std::vector<double> e;  // the listed ids' exp values, before z becomes the gradient
      e.assign(size_t(k), 0.0);
      double listed_q = 0, listed_e = 0;
      for (int j = 0; j < k; ++j)
        if (ids[j] >= 0) {
          e[j] = z[ids[j]];
          listed_q += q[j];
          listed_e += e[j];
          if (q[j] > 0) ce -= double(q[j]) * log_p(e[j]);
        }
      const double r = std::max(0.0, 1.0 - listed_q);
      const double p_rest = std::max(0.0, sum - listed_e) / sum;
      if (r > 0) ce -= r * std::log(std::max(p_rest, 1e-300));
      if (want_grad) {
        // Every id as one of the rest, p·(1 − r/p(rest)); then the listed ones, p − q.
        const double rest = p_rest > 0 ? g * (1.0 - r / p_rest) / sum : 0.0;
        for (int v = 0; v < V; ++v) z[v] = float(z[v] * rest);
        for (int j = 0; j < k; ++j)
          if (ids[j] >= 0) z[ids[j]] = float(g * (e[j] / sum - double(q[j])));
      }
    }
  } else if (want_grad) {
    std::fill(z, z + V, 0.f);
  }
  if (want_grad) z[arg] += s.l2wrap_scale * mx;
  return ce;
}

}  // namespace rwkv

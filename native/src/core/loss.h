// The training loss both backends compute at the output end (docs/spec.md §3.8): next-token cross-entropy
// over the targets that count, plus the L2Wrap logit penalty, with the scales the caller chooses.
#pragma once
#include <cstdint>

namespace rwkv {

constexpr int32_t kIgnoreTarget = -100;  // torch cross_entropy ignore_index

// How the gradient is scaled. ce_grad_scale multiplies ∂CE_sum/∂logits (1/n_targets for a mean
// loss); l2wrap_scale is the L2Wrap factor (1e-4/(B·T), 0 = off): at every row, including ignored
// ones, it adds l2wrap_scale · max logit to the gradient of the argmax logit.
struct HeadLossScale {
  float ce_grad_scale = 0.f;
  float l2wrap_scale = 0.f;
};

// Soft targets (distillation): on each counted row a teacher distribution q instead of one id.
// Sparse: k (id, probability) pairs per row, id −1 = unused, ids unique within a row; the mass
// r = 1 − Σq left over is one more class, "every id not listed". Dense: ids null, k = V, probs
// [M, V]. Row loss −Σ q·log p − r·log p(rest), p(rest) = Σ of p over the ids not listed; gradient
// w.r.t. the logits p − q on listed ids and p·(1 − r/p(rest)) on the others (ce_grad_scale times).
struct SoftTargets {
  const float* probs = nullptr;  // [M, k]
  const int32_t* ids = nullptr;  // [M, k], or null for dense
  int k = 0;
  bool any() const { return probs != nullptr; }
};

// Number of targets that count (≠ −100): the denominator of the mean CE.
inline long count_targets(long n, const int32_t* targets) {
  long c = 0;
  for (long i = 0; i < n; ++i) c += targets[i] != kIgnoreTarget;
  return c;
}

}  // namespace rwkv

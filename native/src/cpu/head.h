// The output end of every RWKV version (v6 and v7 alike): final LayerNorm (ln_out), the head
// projection [V, C], next-token cross-entropy and the L2Wrap logit penalty, forward and backward.
// Rows are processed in blocks so the [rows, V] logits of a whole training batch never exist at
// once (0.1B: 512 × 65536 fp32 would be 128 MB per sequence).
#pragma once
#include <cstdint>

#include "core/errors.h"
#include "core/loss.h"
#include "cpu/mat.h"

namespace rwkv {

// Frozen parameters of the output end. ln weights are fp32 copies; head is a view ([V, C],
// f32/bf16/f16 kept as stored), multiplied with `prec`.
struct HeadWeights {
  const float* ln_w = nullptr;
  const float* ln_b = nullptr;
  Mat head;
  Precision prec = Precision::F32;
};

// logits[m] = LN_out(x[m]) · headᵀ for M rows of x [M, C] → logits [M, V].
void head_logits(int M, int C, const float* x, const HeadWeights& w, float* logits);

struct HeadLossSum {
  double ce_sum = 0;  // Σ CE over rows with target ≠ −100
  long n_targets = 0;
};

// Cross-entropy of LN_out(x)·headᵀ against targets [M] (−100 = ignored). When dx is non-null it
// receives ∂/∂x [M, C] of (ce_grad_scale·CE_sum + L2Wrap term), overwriting it. Targets must be in
// [0, V) or −100 (throws RwkvError otherwise). With `soft` the counted rows are scored against its
// teacher distributions instead (head.inc soft_row_loss_grad). Checks `cancel` between row blocks.
HeadLossSum head_loss(int M, int C, const float* x, const HeadWeights& w, const int32_t* targets,
                      const HeadLossScale& scale, float* dx, const Cancel& cancel,
                      const SoftTargets* soft = nullptr);

}  // namespace rwkv

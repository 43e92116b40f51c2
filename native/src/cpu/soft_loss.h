// The soft-target row of the head's loss (core/loss.h SoftTargets): cross entropy against a
// teacher distribution, for distilling a prompted model into a state (prompt compilation).
#pragma once
#include <cstdint>

#include "core/loss.h"

namespace rwkv {

// Turns row m's logits z [V] into their gradient in place (when want_grad) and returns the row's
// soft cross entropy, or 0 for a row that does not count (its gradient is then only L2Wrap's).
double soft_row_loss_grad(int V, float* z, const SoftTargets& soft, long m, bool counts, const HeadLossScale& s,
                          bool want_grad);

}  // namespace rwkv

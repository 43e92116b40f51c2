// The optimizer update both backends implement: torch.optim.Adam semantics (no weight decay, no
// amsgrad; the same update as DeepSpeed FusedAdam with adam_w_mode=False that RWKV-PEFT uses):
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//   p ← p − lr/(1−β1^step) · m / (√v/√(1−β2^step) + eps).
#pragma once

namespace rwkv {

struct AdamParams {
  double lr = 1.0, beta1 = 0.9, beta2 = 0.99, eps = 1e-8;
  long step = 1;  // 1-based step number after this update (drives the bias correction)
};

}  // namespace rwkv

// Numeric constants of the RWKV-6/7 architecture that both backends use (docs/spec.md §1.7).
#pragma once

namespace rwkv {

constexpr float kLayerNormEps = 1e-5f;   // ln0 / ln1 / ln2 / ln_out (torch default)
constexpr float kGroupNormEps = 64e-5f;  // att.ln_x (head_size_divisor 8 → 1e-5·8²)

}  // namespace rwkv

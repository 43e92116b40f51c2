// Normalisations shared by every RWKV version (v6 and v7 use the same ones): LayerNorm over the
// channel axis and per-head GroupNorm, forward and input-gradient backward. Rows are independent
// (one token each); the affine weights are frozen, so the backward gives dx only.
#pragma once
#include <vector>

#include "core/constants.h"

namespace rwkv {

// The frozen affine weights of one LayerNorm or GroupNorm, fp32 copies ([C] each).
struct NormWeights {
  std::vector<float> w, b;
};

// y[m] = (x[m] − mean) / sqrt(var + eps) ⊙ weight + bias over rows of length C (biased variance).
// x and y may alias. Parallel over rows.
void layer_norm(int M, int C, const float* x, const float* weight, const float* bias, float* y,
                float eps = kLayerNormEps);

// dx = ∂/∂x of Σ y·dy for the layer_norm above (statistics recomputed from x). When accumulate
// is true dx is added to, else overwritten.
void layer_norm_backward(int M, int C, const float* x, const float* weight, const float* dy,
                         float* dx, bool accumulate, float eps = kLayerNormEps);

// GroupNorm of rows [M, G·N]: each group of N consecutive channels is normalised on its own,
// then the affine weight/bias (length G·N) applies per channel. x and y may alias.
void group_norm(int M, int G, int N, const float* x, const float* weight, const float* bias,
                float* y, float eps = kGroupNormEps);

// Input gradient of group_norm (statistics recomputed from x).
void group_norm_backward(int M, int G, int N, const float* x, const float* weight,
                         const float* dy, float* dx, bool accumulate, float eps = kGroupNormEps);

}  // namespace rwkv

#include "cpu/head.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cpu/norm.h"
#include "cpu/profile.h"
#include "cpu/scratch_buf.h"
#include "cpu/threadpool.h"
#include "cpu/vmath.h"

#define RWKV_PER_ISA_FILE "cpu/head.inc"
#include "cpu/per_isa.h"

namespace rwkv {
namespace {

// Rows per block: about 64 MB of logits (256 rows at V = 65536), enough rows that the head
// GEMMs run near peak while the logits of a whole batch never exist at once.
constexpr long kBlockLogits = 16l << 20;

}  // namespace

void head_logits(int M, int C, const float* x, const HeadWeights& w, float* logits) {
  RWKV_STAGE(Head);
  ScratchBuf xn(size_t(M) * C);
  layer_norm(M, C, x, w.ln_w, w.ln_b, xn.data());
  mul(M, xn.data(), C, w.head, true, logits, w.head.rows, 0.f, w.prec);
}

HeadLossSum head_loss(int M, int C, const float* x, const HeadWeights& w, const int32_t* targets,
                      const HeadLossScale& scale, float* dx, const Cancel& cancel, const SoftTargets* soft) {
  RWKV_STAGE(Head);
  const int V = w.head.rows;
  for (int m = 0; m < M; ++m)
    if (targets[m] != kIgnoreTarget && (targets[m] < 0 || targets[m] >= V))
      throw RwkvError("target " + std::to_string(targets[m]) + " at position " + std::to_string(m) +
                      " is outside the vocabulary [0, " + std::to_string(V) + ") and is not -100");
  HeadLossSum out;
  out.n_targets = count_targets(M, targets);
  const int bm = int(std::min<long>(M, std::max<long>(16, kBlockLogits / V)));
  ScratchBuf xn(size_t(bm) * C), z(size_t(bm) * V), dxn(size_t(bm) * C);
  std::vector<double> ce(bm);
  for (int m0 = 0; m0 < M; m0 += bm) {
    check_cancel(cancel);
    const int rows = std::min(bm, M - m0);
    const float* xb = x + size_t(m0) * C;
    layer_norm(rows, C, xb, w.ln_w, w.ln_b, xn.data());
    mul(rows, xn.data(), C, w.head, true, z.data(), V, 0.f, w.prec);
    const auto row_loss = RWKV_PER_ISA(row_loss_grad);
    const auto soft_row = RWKV_PER_ISA(soft_row_loss_grad);
    parallel_for(rows, [&](long b, long e) {
      for (long r = b; r < e; ++r) {
        float* zr = z.data() + r * V;
        const long m = m0 + r;
        ce[r] = soft ? soft_row(V, zr, *soft, m, targets[m] != kIgnoreTarget, scale, dx != nullptr)
                     : row_loss(V, zr, targets[m], scale, dx != nullptr);
      }
    });
    for (int r = 0; r < rows; ++r) out.ce_sum += ce[r];
    if (!dx) continue;
    mul(rows, z.data(), V, w.head, false, dxn.data(), C, 0.f, w.prec);  // dxn = dlogits · head
    layer_norm_backward(rows, C, xb, w.ln_w, dxn.data(), dx + size_t(m0) * C, false);
  }
  return out;
}

}  // namespace rwkv

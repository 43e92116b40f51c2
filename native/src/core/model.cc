#include "core/model.h"

namespace rwkv {

void check_chunk(const TrainChunk& c, const Config& cfg) {
  if (c.B <= 0 || c.T <= 0) throw RwkvError("training chunk: batch and T must be positive");
  if (!c.inputs || !c.targets) throw RwkvError("training chunk: inputs and targets are required");
  const bool per_seq = c.init.any();
  if (bool(c.s0) == per_seq) throw RwkvError("training chunk: give either s0 or a state per sequence (init)");
  if (per_seq && !(c.init.att_x && c.init.wkv && c.init.ffn_x))
    throw RwkvError("training chunk: init needs attX, wkv and ffnX");
  if (c.soft.any()) {
    if (c.soft.k < 1 || c.soft.k > cfg.vocab)
      throw RwkvError("training chunk: soft targets need 1 ≤ k ≤ vocab (" + std::to_string(cfg.vocab) + "), got k = " +
                      std::to_string(c.soft.k));
    if (!c.soft.ids && c.soft.k != cfg.vocab)
      throw RwkvError("training chunk: dense soft targets (no ids) need k = vocab = " + std::to_string(cfg.vocab) +
                      ", got " + std::to_string(c.soft.k));
  }
  if (!c.layers.trained.empty()) {
    if (c.layers.trained.size() != size_t(cfg.n_layer))
      throw RwkvError("training chunk: the layer mask has " + std::to_string(c.layers.trained.size()) +
                      " entries for " + std::to_string(cfg.n_layer) + " layers");
    if (c.layers.lowest() == cfg.n_layer) throw RwkvError("training chunk: the layer set is empty");
  }
}

LossResult Model::loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                                float* grad_s0, const LossOptions& opt, const Cancel& cancel) const {
  TrainChunk c;
  c.inputs = inputs;
  c.targets = targets;
  c.B = B;
  c.T = T;
  c.s0 = s0;
  c.grad_s0 = grad_s0;
  const long n = count_targets(long(B) * T, targets);
  c.scale.ce_grad_scale = n > 0 ? float(1.0 / double(n)) : 0.f;
  c.scale.l2wrap_scale = opt.l2wrap ? float(1e-4 / (double(B) * T)) : 0.f;
  c.layers = opt.layers;
  c.act_cache_mb = opt.act_cache_mb;
  return train_chunk(c, cancel);
}

}  // namespace rwkv

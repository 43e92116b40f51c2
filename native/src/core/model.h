// The model interface the bindings program against and both backends implement (cpu/cpu_model.h,
// cuda/cuda_model.cuh); weights are views into caller-owned memory.
#pragma once
#include <cstdint>

#include "core/errors.h"
#include "core/tensor.h"

namespace rwkv {

struct Config {
  int version = 7;  // 7 (x070) or 6 (x060)
  int n_layer = 0, n_embd = 0, n_head = 0, head_size = 64, vocab = 0, dim_ffn = 0;
};

// Recurrent state of one sequence, fp32, caller-owned:
//   att_x [L,C] (ln1 output of the last token), wkv [L,H,N,N] ([head][value][key]),
//   ffn_x [L,C] (ln2 output of the last token).
struct StateRef { float* att_x; float* wkv; float* ffn_x; };

enum class LogitsMode { None, Last, All };

struct LossOptions { bool l2wrap = true; };
struct LossResult { double loss_sum = 0; long n_targets = 0; };

class Model {
 public:
  virtual ~Model() = default;
  const Config& config() const { return cfg_; }

  // Sequence mode over tokens[0..T): updates `state` in place; writes logits [T,V] (All),
  // [V] for the last token (Last), or nothing (None).
  virtual void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits,
                           LogitsMode mode, const Cancel& cancel) const = 0;

  // RNN mode, one token: updates `state`, writes logits [V] when non-null.
  virtual void forward_rnn(int32_t token, StateRef state, float* logits) const = 0;

  // State tuning. B sequences inputs[B,T] with targets[B,T] (-100 = ignored). Every sequence
  // starts from wkv = s0 [L,H,N,N] and zero shift states. Returns the summed cross-entropy and
  // the number of targets; writes grad_s0 [L,H,N,N] = d(mean CE)/d s0 summed over the batch,
  // plus the L2Wrap term (1e-4/(B·T) · max logit at each position's argmax) when asked.
  virtual LossResult loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T,
                                   const float* s0, float* grad_s0, const LossOptions& opt,
                                   const Cancel& cancel) const = 0;

 protected:
  Config cfg_;
};

}  // namespace rwkv

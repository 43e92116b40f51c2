// The model interface the bindings program against and both backends implement (cpu/cpu_model.h,
// cuda/cuda_model.cuh); weights are views into caller-owned memory.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/loss.h"
#include "core/tensor.h"

namespace rwkv {

struct Config {
  int version = 7;  // 7 (x070) or 6 (x060)
  int n_layer = 0, n_embd = 0, n_head = 0, head_size = 64, vocab = 0, dim_ffn = 0;
  long wkv_floats() const { return long(n_head) * head_size * head_size; }  // one layer's wkv, [H,N,N]
};

// Recurrent state of one sequence, fp32, caller-owned:
//   att_x [L,C] (ln1 output of the last token), wkv [L,H,N,N] ([head][value][key]),
//   ffn_x [L,C] (ln2 output of the last token).
struct StateRef { float* att_x; float* wkv; float* ffn_x; };

// The recurrent states of B sequences, sequence-major: att_x [B,L,C], wkv [B,L,H,N,N], ffn_x
// [B,L,C] (sequence b's StateRef starts at b·L·C and b·L·H·N·N). A null member is not given (an
// input read as zeros) or not wanted (an output).
template <typename F>
struct StatesOf {
  F* att_x = nullptr;
  F* wkv = nullptr;
  F* ffn_x = nullptr;
  bool any() const { return att_x || wkv || ffn_x; }
};
using BatchState = StatesOf<float>;
using BatchStateIn = StatesOf<const float>;

enum class LogitsMode { None, Last, All };

// The layers whose initial wkv states are trained: a mask [L] (1 = trained), empty = all layers.
// Nothing below the lowest trained layer depends on a trained state, so the backward stops there.
struct LayerSet {
  std::vector<uint8_t> trained;
  bool has(int l) const { return trained.empty() || trained[size_t(l)] != 0; }
  int lowest() const {  // trained.size() when none is
    for (size_t l = 0; l < trained.size(); ++l) if (trained[l]) return int(l);
    return trained.empty() ? 0 : int(trained.size());
  }
};

// One chunk of a training micro-batch: B sequences, T tokens each. A sample longer than memory
// allows is split into chunks that carry the recurrent state (chunked BPTT, as RWKV-PEFT's infctx):
// the caller runs the chunks forward once keeping the states at their boundaries, then calls each
// chunk again from the last to the first with the gradient arriving at its final state. With
// scales chosen for the whole sample the summed gradient equals the unchunked one.
struct TrainChunk {
  const int32_t* inputs = nullptr;   // [B,T] token ids
  const int32_t* targets = nullptr;  // [B,T], −100 = ignored
  int B = 0, T = 0;
  // The initial state: s0 [L,H,N,N] shared by every sequence, with zero token shifts (a sample's
  // first chunk; also what plain state tuning does), or `init`, complete, one per sequence.
  const float* s0 = nullptr;
  BatchStateIn init;
  // Receives the final state per sequence (the next chunk's init).
  BatchState final_state;
  // ∂L/∂(final state) per sequence, from the chunks after this one (null members: zeros).
  BatchStateIn d_final;
  // Receives ∂L/∂(initial state) per sequence, for the chunk before this one. Computed where a
  // trained state can reach: for the lowest trained layer and above, except that layer's att_x
  // (its value depends on the layers below only); the rest is written as zeros.
  BatchState d_init;
  // Receives Σ over sequences of ∂L/∂(initial wkv) [L,H,N,N] for the trained layers, zeros for
  // the others (with s0, the gradient of s0).
  float* grad_s0 = nullptr;
  // Explicit, so that chunks of one micro-batch share them: ce_grad_scale = 1/(valid targets of
  // the whole micro-batch), l2wrap_scale = 1e-4/(B·T of the whole sample) or 0.
  HeadLossScale scale;
  // Teacher distributions instead of target ids on the counted rows (targets then only mark which
  // rows count). CPU backend only.
  SoftTargets soft;
  LayerSet layers;
  // CPU: MiB of layer activations the forward may keep for the backward instead of recomputing
  // them (−1: RWKV_ACT_CACHE_MB, else 512). The CUDA backend always recomputes.
  long act_cache_mb = -1;

  bool backward() const { return d_init.any() || grad_s0; }
};

struct LossResult {
  double loss_sum = 0;    // Σ CE over the targets that count
  long n_targets = 0;     // how many count (≠ −100)
  int layers_backward = 0;    // layers whose backward ran (L − lowest trained layer)
  int layers_recomputed = 0;  // of those, layers whose forward was recomputed for it
};

struct LossOptions {
  bool l2wrap = true;
  LayerSet layers;
  long act_cache_mb = -1;
};

// Throws RwkvError unless `c` is a well-formed chunk for a model of config `cfg`.
void check_chunk(const TrainChunk& c, const Config& cfg);

class Model {
 public:
  virtual ~Model() = default;
  const Config& config() const { return cfg_; }

  // Sequence mode over tokens[0..T): updates `state` in place; writes logits [T,V] (All),
  // [V] for the last token (Last), or nothing (None).
  virtual void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                           const Cancel& cancel) const = 0;

  // RNN mode, one token: updates `state`, writes logits [V] when non-null.
  virtual void forward_rnn(int32_t token, StateRef state, float* logits) const = 0;

  // One training chunk (see TrainChunk): returns the summed CE and the target count, writes the
  // outputs asked for. Without d_init or grad_s0 it is a forward pass only (loss, final states).
  virtual LossResult train_chunk(const TrainChunk& chunk, const Cancel& cancel) const = 0;

  // Plain state tuning, the one-chunk case: B sequences inputs[B,T] with targets[B,T] start from
  // s0 [L,H,N,N] and zero shift states; writes grad_s0 = d(mean CE [+ L2Wrap])/d s0 summed over
  // the batch (L2Wrap: 1e-4/(B·T) · max logit at each position's argmax).
  LossResult loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                           float* grad_s0, const LossOptions& opt, const Cancel& cancel) const;

 protected:
  Config cfg_;
};

}  // namespace rwkv

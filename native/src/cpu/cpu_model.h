// What the RWKV-7 and RWKV-6 CPU models share (the CPU twin of cuda/cuda_model.cuh): the embedding,
// ln0 and output end, and the drivers of forward_seq / forward_rnn / train_chunk around per-version
// layer code (rwkv7.cc, rwkv6.cc: loading, layer_forward, layer_backward).
//
// Activations and recompute, one policy for every version: a training chunk's forward keeps the
// input of each layer from the lowest trained one up, plus the full activations of as many of the
// top layers as fit the activation budget (TrainChunk::act_cache_mb, RWKV_ACT_CACHE_MB, default
// 512 MiB); the backward walks the layers down to the lowest trained one and recomputes, one at a
// time into one scratch set, those it did not keep (bit-identical either way). At the 0.1B shape
// with ctx 512 every layer fits, so nothing is recomputed; longer chunks trade time for memory
// instead of growing without bound. Layers below the lowest trained one run forward only.
#pragma once
#include <memory>
#include <vector>

#include "core/model.h"
#include "cpu/head.h"
#include "cpu/loader.h"
#include "cpu/mat.h"

namespace rwkv {

struct CpuOptions {
  Precision compute = Precision::F32;  // arithmetic of every product of the layers and the head
};

// Validate names and shapes and build; throws RwkvError naming the key on a missing or misshaped
// tensor. make_model dispatches on cfg.version.
std::unique_ptr<Model> make_model_v7(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt);
std::unique_ptr<Model> make_model_v6(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt);
std::unique_ptr<Model> make_model(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt = {});

// One layer's recurrent state for the B sequences of a call: att_x [B,C], wkv [B,H,N,N], ffn_x
// [B,C]. In layer_forward the initial state in, the final state out; in layer_backward ∂L/∂(final
// state) in, ∂L/∂(initial state) out.
struct LayerState { float* att_x; float* wkv; float* ffn_x; };

// What one layer's forward keeps for its backward; each version defines its own.
struct LayerActs {
  virtual ~LayerActs() = default;
  virtual size_t bytes() const = 0;
};

class CpuModel : public Model {
 public:
  void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                   const Cancel& cancel) const final;
  void forward_rnn(int32_t token, StateRef state, float* logits) const final;
  LossResult train_chunk(const TrainChunk& chunk, const Cancel& cancel) const final;
  // Frees the cached temporaries (cpu/scratch_buf.h) that every model's calls share.
  ~CpuModel() override;

 protected:
  // Checks the config and loads emb, ln0 and the output end; the subclass loads its layers.
  CpuModel(const Config& cfg, const Loader& ld, const CpuOptions& opt);

  // Activations for calls of up to B·T rows (for_backward: also what only the backward needs).
  virtual std::unique_ptr<LayerActs> new_acts(int B, int T, bool for_backward) const = 0;
  // Floats per row that the layers of one call share: RWKV-7's v_first (layer 0 writes it, the
  // layers above read it); 0 for none.
  virtual int carry_width() const = 0;
  // x [B·T, C] ← layer l of x; s: initial state in, final state out; fills `a`.
  virtual void layer_forward(int l, int B, int T, float* x, float* carry, const LayerState& s,
                             LayerActs& a) const = 0;
  // From `a` (this layer's forward on input x_in from initial wkv state wkv0 [B,H,N,N]): dx is
  // ∂L/∂(layer output) on entry and ∂L/∂(layer input) on return; d is ∂L/∂(final state) on entry
  // and ∂L/∂(initial state) on return. Without need_dx (the lowest trained layer) the work that
  // only serves dx is skipped, and with it d.att_x, which is then left as it is.
  virtual void layer_backward(int l, int B, int T, const float* x_in, const float* carry, const float* wkv0,
                              const LayerActs& a, float* dx, const LayerState& d, bool need_dx) const = 0;

  // Products with this model's compute precision (cpu/mat.h).
  void mul(int M, const float* A, int lda, const Mat& W, bool trans, float* C, int ldc, float beta = 0.f) const {
    rwkv::mul(M, A, lda, W, trans, C, ldc, beta, prec_);
  }
  void mul(int M, const float* A, const Mat& W, bool trans, float* C, float beta = 0.f) const {
    mul(M, A, W.k_of(trans), W, trans, C, W.n_of(trans), beta);
  }
  void mul_batch(int M, std::initializer_list<MulJob> jobs) const { rwkv::mul_batch(M, jobs, prec_); }
  // Columns [n0, n0 + n) of A·Wᵀ (+ C's, beta 1) for a W stored [N, K] (an nn.Linear [out, in]),
  // from W's rows [n0, n0 + n): one contiguous run of W. C's rows are N wide.
  void mul_rows(int M, const float* A, const Mat& W, int n0, int n, float* C, float beta = 0.f) const {
    mul(M, A, W.cols, W.rows_slice(n0, n), true, C + n0, W.rows, beta);
  }

  // The square-ReLU key/value of both versions' channel mix: out (+)= relu(xk·Kᵀ)²·Vᵀ (beta 0 or 1),
  // keeping the pre-activation hpre [M, F] for the backward; and its input gradient dxk.
  void sqrelu_ffn(int M, const float* xk, const Mat& K, const Mat& V, float* hpre, float* out, float beta) const;
  void sqrelu_ffn_backward(int M, const float* dout, const Mat& K, const Mat& V, const float* hpre, float* dxk) const;

  int C() const { return cfg_.n_embd; }
  int H() const { return cfg_.n_head; }
  int N() const { return cfg_.head_size; }
  int F() const { return cfg_.dim_ffn; }

 private:
  // x [M, C] = ln0(emb[tokens]); RwkvError for a token outside the vocabulary.
  void embed(const int32_t* tokens, long M, float* x) const;

  std::shared_ptr<const WeightArena> weights_;  // the matrices' copies (Loader::matrix)
  Mat emb_;
  NormWeights ln0_, ln_out_;
  HeadWeights head_;
  Precision prec_;
};

}  // namespace rwkv

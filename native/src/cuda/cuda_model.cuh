// What the RWKV-7 and RWKV-6 CUDA models share: the stream, the uploaded embedding/ln0/head, and
// the drivers of forward_seq / forward_rnn / train_chunk around per-version layer code. Weights
// are uploaded once; activations stay on the device; only tokens/states go in and logits/loss/
// gradients come out. State tuning stores each layer's input, then walks the layers backwards down to
// the lowest trained one, recomputing one layer's activations at a time (wkv checkpoints every 16
// steps) and back-propagating to that layer's initial wkv state.
#pragma once
#include <mutex>
#include <vector>

#include "core/model.h"
#include "cuda/head.cuh"
#include "cuda/weight_store.cuh"

namespace rwkv::cuda {

class CudaModel : public Model {
 public:
  ~CudaModel() override;
  void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                   const Cancel& cancel) const final;
  void forward_rnn(int32_t token, StateRef state, float* logits) const final;
  // Shared s0, grad_s0, layer sets, explicit scales and forward-only calls; a state per sequence,
  // final states and state gradients (chunked BPTT) throw RwkvError for now.
  LossResult train_chunk(const TrainChunk& chunk, const Cancel& cancel) const final;

 protected:
  static constexpr int N = 64;
  // Uploads emb, ln0 and the output end; the subclass uploads its layers.
  CudaModel(const Config& cfg, const TensorMap& t);
  // The named tensor; RwkvError naming the key when it is missing.
  static const TensorView& tensor(const TensorMap& t, const std::string& name);

  // Working memory for M rows (grown, never shrunk).
  virtual void reserve(size_t M, bool backward) const = 0;
  // x_out = layer l of x_in [B·T, C]; wkv [B,H,N,N] in/out; att_prev/ffn_prev [C] are a single
  // sequence's shift states (null = zeros); ck (may be null) receives the wkv checkpoints.
  virtual void layer_forward(int l, int B, int T, const float* x_in, float* x_out, float* wkv, const float* att_prev,
                             const float* ffn_prev, float* ck) const = 0;
  // The ln1 / ln2 outputs of the last layer_forward (rows of C): the new shift states.
  virtual const float* att_shift_rows() const = 0;
  virtual const float* ffn_shift_rows() const = 0;
  // Called once before the layers are walked backwards.
  virtual void begin_backward(size_t M) const { (void)M; }
  // After layer_forward(l, ..., ck_): dx_ holds ∂/∂x_out on entry, ∂/∂x_in on return; grad_l
  // [H,N,N] receives ∂/∂(initial wkv state) summed over the batch.
  virtual void layer_backward(int l, int B, int T, const float* x_in, float* grad_l) const = 0;

  cudaStream_t s_;
  WeightStore store_;
  int C_, H_, V_, L_;
  mutable std::mutex mu_;  // calls are serialised: they share the working memory below
  mutable DeviceBuffer<float> dx_, ck_, scratch_, ds0_;

 private:
  // x [M,C] = ln0(embedding rows of the host tokens).
  void embed_ln0(const int32_t* tokens, int M, float* x) const;
  std::vector<uint16_t> emb_;  // [V,C] bf16 bits, host memory
  mutable std::vector<uint16_t> emb_rows_;
  mutable DeviceBuffer<__nv_bfloat16> emb_rows_dev_;
  const float *ln0_w_ = nullptr, *ln0_b_ = nullptr;
  HeadDevice head_;
  mutable HeadScratch hs_;
  mutable DeviceBuffer<int32_t> targets_;
  mutable DeviceBuffer<float> x_, xtmp_, wkv_, att_x_, ffn_x_, logits_, s0_, grad_;
};

}  // namespace rwkv::cuda

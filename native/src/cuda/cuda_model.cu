#include <algorithm>
#include <string>

#include "cuda/cuda_model.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/norm.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kSeqChunk = 1024;  // forward_seq runs long prompts in pieces of this many tokens

cudaStream_t new_stream() {
  cudaStream_t s;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  return s;
}

void check_tokens(const int32_t* t, long n, int V, const char* what, bool allow_ignore) {
  for (long i = 0; i < n; ++i)
    if ((t[i] < 0 || t[i] >= V) && !(allow_ignore && t[i] == kIgnoreTarget))
      throw RwkvError(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                      " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

}  // namespace

const TensorView& CudaModel::tensor(const TensorMap& t, const std::string& name) {
  auto it = t.find(name);
  if (it == t.end()) throw RwkvError("CUDA model: missing tensor " + name);
  return it->second;
}

CudaModel::CudaModel(const Config& cfg, const TensorMap& t)
    : s_(new_stream()), store_(s_), C_(cfg.n_embd), H_(cfg.n_head), V_(cfg.vocab), L_(cfg.n_layer) {
  cfg_ = cfg;
  emb_ = tensor(t, "emb.weight").to_bf16();
  ln0_w_ = store_.vec(tensor(t, "blocks.0.ln0.weight"));
  ln0_b_ = store_.vec(tensor(t, "blocks.0.ln0.bias"));
  head_.ln_w = store_.vec(tensor(t, "ln_out.weight"));
  head_.ln_b = store_.vec(tensor(t, "ln_out.bias"));
  head_.head = store_.matrix(tensor(t, "head.weight"));
}

CudaModel::~CudaModel() {
  cudaStreamSynchronize(s_);
  cudaStreamDestroy(s_);
}

void CudaModel::embed_ln0(const int32_t* tokens, int M, float* x) const {
  const size_t C = size_t(C_);
  emb_rows_.resize(size_t(M) * C);
  for (int i = 0; i < M; ++i)
    std::copy_n(emb_.data() + size_t(tokens[i]) * C, C, emb_rows_.data() + size_t(i) * C);
  // From pageable memory the copy has left emb_rows_ when this returns, so the next call may refill it.
  emb_rows_dev_.upload(reinterpret_cast<const __nv_bfloat16*>(emb_rows_.data()), emb_rows_.size(), s_);
  widen_bf16(long(M) * C_, emb_rows_dev_.get(), x, s_);
  norm_forward(M, C_, C_, x, ln0_w_, ln0_b_, x, kLayerNormEps, s_);
}

void CudaModel::forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                            const Cancel& cancel) const {
  std::lock_guard<std::mutex> lock(mu_);
  check_tokens(tokens, T, V_, "tokens", false);
  const int C = C_;
  const size_t HNN = size_t(H_) * N * N;
  wkv_.upload(state.wkv, L_ * HNN, s_);
  att_x_.upload(state.att_x, size_t(L_) * C, s_);
  ffn_x_.upload(state.ffn_x, size_t(L_) * C, s_);
  for (int t0 = 0; t0 < T; t0 += kSeqChunk) {
    const int n = std::min(kSeqChunk, T - t0);
    reserve(size_t(n), false);
    x_.resize(size_t(2) * n * C);
    float *x = x_.get(), *x2 = x_.get() + size_t(n) * C;
    embed_ln0(tokens + t0, n, x);
    for (int l = 0; l < L_; ++l) {
      check_cancel(cancel);
      float *att = att_x_.get() + size_t(l) * C, *ffn = ffn_x_.get() + size_t(l) * C;
      layer_forward(l, 1, n, x, x2, wkv_.get() + l * HNN, att, ffn, nullptr);
      copy_d2d(att, att_shift_rows() + size_t(n - 1) * C, C, s_);
      copy_d2d(ffn, ffn_shift_rows() + size_t(n - 1) * C, C, s_);
      std::swap(x, x2);
    }
    if (logits && mode == LogitsMode::All) {
      logits_.resize(size_t(n) * V_);
      head_logits(n, C, x, head_, logits_.get(), hs_, s_);
      logits_.download(logits + size_t(t0) * V_, size_t(n) * V_, s_);
    } else if (logits && mode == LogitsMode::Last && t0 + n == T) {
      logits_.resize(size_t(V_));
      head_logits(1, C, x + size_t(n - 1) * C, head_, logits_.get(), hs_, s_);
      logits_.download(logits, size_t(V_), s_);
    }
  }
  wkv_.download(state.wkv, L_ * HNN, s_);
  att_x_.download(state.att_x, size_t(L_) * C, s_);
  ffn_x_.download(state.ffn_x, size_t(L_) * C, s_);
  check(cudaStreamSynchronize(s_), "forward_seq");
}

void CudaModel::forward_rnn(int32_t token, StateRef state, float* logits) const {
  forward_seq(&token, 1, state, logits, logits ? LogitsMode::Last : LogitsMode::None, Cancel{});
}

LossResult CudaModel::train_chunk(const TrainChunk& c, const Cancel& cancel) const {
  check_chunk(c, cfg_);
  if (c.init.any() || c.final_state.any() || c.d_final.any() || c.d_init.any())
    throw RwkvError("CUDA model: chunked training (a state per sequence, final states, state gradients) is not "
                    "available on the CUDA backend yet; use device \"cpu\"");
  if (c.soft.any())
    throw RwkvError("CUDA model: soft targets (prompt compilation) are not available on the CUDA backend yet; load "
                    "the model with device \"cpu\"");
  std::lock_guard<std::mutex> lock(mu_);
  const int B = c.B, T = c.T;
  const long M = long(B) * T;
  check_tokens(c.inputs, M, V_, "inputs", false);
  check_tokens(c.targets, M, V_, "targets", true);
  const int C = C_;
  const bool backward = c.grad_s0 != nullptr;
  const int lo = backward ? c.layers.lowest() : L_;  // layers [lo, L) run backward
  const size_t HNN = size_t(H_) * N * N, MC = size_t(M) * C;
  LossResult res;
  res.n_targets = count_targets(M, c.targets);

  reserve(size_t(M), backward);
  x_.resize((size_t(L_) + 1) * MC);
  xtmp_.resize(MC); dx_.resize(MC);
  wkv_.resize(size_t(B) * HNN); ds0_.resize(size_t(B) * HNN);
  ck_.resize(wkv7_checkpoint_floats(B, H_, T));
  scratch_.resize(wkv7_scratch_floats(B, H_));  // ≥ the WKV6 backward's need too
  targets_.upload(c.targets, size_t(M), s_);
  s0_.upload(c.s0, L_ * HNN, s_);
  grad_.resize(L_ * HNN);

  embed_ln0(c.inputs, int(M), x_.get());
  for (int l = 0; l < L_; ++l) {
    check_cancel(cancel);
    broadcast(B, long(HNN), s0_.get() + l * HNN, wkv_.get(), s_);
    layer_forward(l, B, T, x_.get() + l * MC, x_.get() + (l + 1) * MC, wkv_.get(), nullptr, nullptr, nullptr);
  }
  float* dx = backward ? dx_.get() : nullptr;
  res.loss_sum = head_loss(int(M), C, x_.get() + L_ * MC, head_, targets_.get(), c.scale, dx, hs_, cancel, s_);
  if (!backward) return res;
  grad_.zero(L_ * HNN, s_);
  begin_backward(size_t(M));
  for (int l = L_ - 1; l >= lo; --l) {
    check_cancel(cancel);
    broadcast(B, long(HNN), s0_.get() + l * HNN, wkv_.get(), s_);
    layer_forward(l, B, T, x_.get() + l * MC, xtmp_.get(), wkv_.get(), nullptr, nullptr, ck_.get());
    layer_backward(l, B, T, x_.get() + l * MC, grad_.get() + l * HNN);
    if (!c.layers.has(l)) grad_.zero_range(l * HNN, HNN, s_);
    ++res.layers_backward;
    ++res.layers_recomputed;
  }
  grad_.download(c.grad_s0, L_ * HNN, s_);
  check(cudaStreamSynchronize(s_), "train_chunk");
  return res;
}

}  // namespace rwkv::cuda

// RWKV-7 ("x070") on the GPU: the CPU model's math (cpu/rwkv7.cc, spec §1.3–1.4, §3.4) with the
// weights uploaded once, activations kept on the device, and only tokens/states in and
// logits/loss/gradients out. State tuning stores each layer's input, then walks the layers
// backwards recomputing one layer's activations at a time (with wkv checkpoints every 16 steps)
// and back-propagates to that layer's initial wkv state.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "cpu/model.h"
#include "cuda/gemm.cuh"
#include "cuda/head.cuh"
#include "cuda/norm.cuh"
#include "cuda/rwkv7_ops.cuh"
#include "cuda/weights.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = kWkvN;
constexpr int kSeqChunk = 1024;  // forward_seq runs long prompts in pieces of this many tokens
enum { kR, kW, kK, kV, kA, kG };  // order of the six token-shift mixes

struct LayerWeights {
  const float *ln1_w, *ln1_b, *ln2_w, *ln2_b, *lnx_w, *lnx_b, *mu_ffn;
  const float* mu[kMaxMix];
  TmVectors tv;
  DeviceWeight w1, w2, a1, a2, v1, v2, g1, g2, R, K, V, O, fK, fV;
  bool value_residual = false;  // layers ≥ 1
};

struct Dims { int C, H, F, Dw, Da, Dv, Dg, V, L; };

// One layer's activations for M rows, then its gradients (reused layer after layer).
struct Acts {
  DeviceBuffer<float> xa, mix[kMaxMix], r, k, v, hw, ha, hv, hg, z, za, zv, g, what, alpha, vg, vv, kn, knorm, kw,
      aop, bop, y, yo, beta, gy, x1, xf, xk, hpre, hf;
  DeviceBuffer<float> dgy, dyo, dg, dr, dkw, dvv, dy, dr_w, dk_w, dv_w, dwhat, da, db, dz, dza, dzv, dlora, dhf, dxf;

  void reserve(size_t M, const Dims& d, bool backward) {
    const size_t C = d.C;
    for (auto* b : {&xa, &r, &k, &v, &z, &za, &zv, &g, &what, &alpha, &vg, &vv, &kn, &kw, &aop, &bop, &y, &yo, &gy,
                    &x1, &xf, &xk})
      b->resize(M * C);
    for (auto& m : mix) m.resize(M * C);
    hw.resize(M * d.Dw); ha.resize(M * d.Da); hv.resize(M * d.Dv); hg.resize(M * d.Dg);
    knorm.resize(M * d.H); beta.resize(M * d.H);
    hpre.resize(M * d.F); hf.resize(M * d.F);
    if (!backward) return;
    for (auto* b : {&dgy, &dyo, &dg, &dr, &dkw, &dvv, &dy, &dr_w, &dk_w, &dv_w, &dwhat, &da, &db, &dz, &dza, &dzv, &dxf})
      b->resize(M * C);
    dlora.resize(M * std::max({d.Dw, d.Da, d.Dv, d.Dg}));
    dhf.resize(M * d.F);
  }
  TmActs tm(const float* vfirst) const {
    return {r.get(), k.get(), v.get(), z.get(), za.get(), zv.get(), what.get(), alpha.get(), vg.get(), vv.get(),
            kn.get(), knorm.get(), kw.get(), aop.get(), bop.get(), vfirst};
  }
};

cudaStream_t new_stream() {
  cudaStream_t s;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  return s;
}

void copy_d2d(float* dst, const float* src, size_t n, cudaStream_t s) {
  check(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s), "copy");
}

void check_tokens(const int32_t* t, long n, int V, const char* what, bool allow_ignore) {
  for (long i = 0; i < n; ++i)
    if ((t[i] < 0 || t[i] >= V) && !(allow_ignore && t[i] == kIgnoreTarget))
      throw RwkvError(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                      " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

class CudaRwkv7 final : public Model {
 public:
  CudaRwkv7(const Config& cfg, const TensorMap& t, const QuantOptions& q) : s_(new_stream()), store_(s_) {
    cfg_ = cfg;
    auto get = [&](const std::string& k) -> const TensorView& {
      auto it = t.find(k);
      if (it == t.end()) throw RwkvError("RWKV-7 checkpoint: missing tensor " + k);
      return it->second;
    };
    const int L = cfg.n_layer;
    d_ = {cfg.n_embd, cfg.n_head, cfg.dim_ffn, int(get("blocks.0.att.w1").dim(1)), int(get("blocks.0.att.a1").dim(1)),
          L > 1 ? int(get("blocks.1.att.v1").dim(1)) : 1, int(get("blocks.0.att.g1").dim(1)), cfg.vocab, L};
    emb_ = store_.bf16(get("emb.weight"));
    ln0_w_ = store_.vec(get("blocks.0.ln0.weight"));
    ln0_b_ = store_.vec(get("blocks.0.ln0.bias"));
    head_.ln_w = store_.vec(get("ln_out.weight"));
    head_.ln_b = store_.vec(get("ln_out.bias"));
    head_.head = store_.matrix(get("head.weight"));
    for (int l = 0; l < L; ++l) {
      const std::string p = "blocks." + std::to_string(l) + ".";
      auto vec = [&](const char* k) { return store_.vec(get(p + k)); };
      auto mat = [&](const char* k, Quant qk = Quant::None) { return store_.matrix(get(p + k), qk); };
      LayerWeights w;
      w.value_residual = l > 0;
      w.ln1_w = vec("ln1.weight"); w.ln1_b = vec("ln1.bias"); w.ln2_w = vec("ln2.weight"); w.ln2_b = vec("ln2.bias");
      w.lnx_w = vec("att.ln_x.weight"); w.lnx_b = vec("att.ln_x.bias"); w.mu_ffn = vec("ffn.x_k");
      const char* mus[kMaxMix] = {"att.x_r", "att.x_w", "att.x_k", "att.x_v", "att.x_a", "att.x_g"};
      for (int i = 0; i < kMaxMix; ++i) w.mu[i] = vec(mus[i]);
      w.tv = {vec("att.w0"), vec("att.a0"), w.value_residual ? vec("att.v0") : nullptr, vec("att.k_k"),
              vec("att.k_a"), vec("att.r_k")};
      w.w1 = mat("att.w1"); w.w2 = mat("att.w2"); w.a1 = mat("att.a1"); w.a2 = mat("att.a2");
      w.g1 = mat("att.g1"); w.g2 = mat("att.g2");
      if (w.value_residual) { w.v1 = mat("att.v1"); w.v2 = mat("att.v2"); }
      w.R = mat("att.receptance.weight", q.quant); w.K = mat("att.key.weight", q.quant);
      w.V = mat("att.value.weight", q.quant); w.O = mat("att.output.weight", q.quant);
      w.fK = mat("ffn.key.weight", q.quant); w.fV = mat("ffn.value.weight", q.quant);
      layers_.push_back(w);
    }
    check(cudaStreamSynchronize(s_), "weight upload");
  }
  ~CudaRwkv7() override { cudaStreamSynchronize(s_); cudaStreamDestroy(s_); }

  void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                   const Cancel& cancel) const override {
    std::lock_guard<std::mutex> lock(mu_);
    check_tokens(tokens, T, d_.V, "tokens", false);
    const int L = d_.L, C = d_.C;
    const size_t HNN = size_t(d_.H) * N * N;
    wkv_.upload(state.wkv, L * HNN, s_);
    att_x_.upload(state.att_x, size_t(L) * C, s_);
    ffn_x_.upload(state.ffn_x, size_t(L) * C, s_);
    for (int t0 = 0; t0 < T; t0 += kSeqChunk) {
      const int n = std::min(kSeqChunk, T - t0);
      acts_.reserve(size_t(n), d_, false);
      x_.resize(size_t(2) * n * C);
      vfirst_.resize(size_t(n) * C);
      tokens_.upload(tokens + t0, size_t(n), s_);
      float *x = x_.get(), *x2 = x_.get() + size_t(n) * C;
      embed_ln0(n, x);
      for (int l = 0; l < L; ++l) {
        check_cancel(cancel);
        layer_forward(l, 1, n, x, x2, wkv_.get() + l * HNN, att_x_.get() + size_t(l) * C, ffn_x_.get() + size_t(l) * C,
                      nullptr);
        copy_d2d(att_x_.get() + size_t(l) * C, acts_.xa.get() + size_t(n - 1) * C, C, s_);
        copy_d2d(ffn_x_.get() + size_t(l) * C, acts_.xf.get() + size_t(n - 1) * C, C, s_);
        std::swap(x, x2);
      }
      const bool last_chunk = t0 + n == T;
      if (logits && mode == LogitsMode::All) {
        logits_.resize(size_t(n) * d_.V);
        head_logits(n, C, x, head_, logits_.get(), hs_, s_);
        logits_.download(logits + size_t(t0) * d_.V, size_t(n) * d_.V, s_);
      } else if (logits && mode == LogitsMode::Last && last_chunk) {
        logits_.resize(size_t(d_.V));
        head_logits(1, C, x + size_t(n - 1) * C, head_, logits_.get(), hs_, s_);
        logits_.download(logits, size_t(d_.V), s_);
      }
    }
    wkv_.download(state.wkv, L * HNN, s_);
    att_x_.download(state.att_x, size_t(L) * C, s_);
    ffn_x_.download(state.ffn_x, size_t(L) * C, s_);
    check(cudaStreamSynchronize(s_), "forward_seq");
  }

  void forward_rnn(int32_t token, StateRef state, float* logits) const override {
    forward_seq(&token, 1, state, logits, logits ? LogitsMode::Last : LogitsMode::None, Cancel{});
  }

  LossResult loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                           float* grad_s0, const LossOptions& opt, const Cancel& cancel) const override {
    std::lock_guard<std::mutex> lock(mu_);
    const long M = long(B) * T;
    check_tokens(inputs, M, d_.V, "inputs", false);
    check_tokens(targets, M, d_.V, "targets", true);
    const int L = d_.L, C = d_.C;
    const size_t HNN = size_t(d_.H) * N * N, MC = size_t(M) * C;
    LossResult res;
    res.n_targets = count_targets(M, targets);
    HeadLossScale scale;
    scale.ce_grad_scale = res.n_targets > 0 ? 1.f / float(res.n_targets) : 0.f;
    scale.l2wrap_scale = opt.l2wrap ? float(1e-4 / double(M)) : 0.f;

    acts_.reserve(size_t(M), d_, true);
    x_.resize((size_t(L) + 1) * MC);
    xtmp_.resize(MC); dx_.resize(MC); vfirst_.resize(MC); dvfirst_.resize(MC);
    wkv_.resize(size_t(B) * HNN); ds0_.resize(size_t(B) * HNN);
    ck_.resize(wkv7_checkpoint_floats(B, d_.H, T)); scratch_.resize(wkv7_scratch_floats(B, d_.H));
    tokens_.upload(inputs, size_t(M), s_);
    targets_.upload(targets, size_t(M), s_);
    s0_.upload(s0, L * HNN, s_);
    grad_.resize(L * HNN);

    embed_ln0(int(M), x_.get());
    for (int l = 0; l < L; ++l) {
      check_cancel(cancel);
      broadcast(B, long(HNN), s0_.get() + l * HNN, wkv_.get(), s_);
      layer_forward(l, B, T, x_.get() + l * MC, x_.get() + (l + 1) * MC, wkv_.get(), nullptr, nullptr, nullptr);
    }
    res.loss_sum = head_loss(int(M), C, x_.get() + L * MC, head_, targets_.get(), scale, dx_.get(), hs_, cancel, s_);
    dvfirst_.zero(MC, s_);
    for (int l = L - 1; l >= 0; --l) {
      check_cancel(cancel);
      broadcast(B, long(HNN), s0_.get() + l * HNN, wkv_.get(), s_);
      layer_forward(l, B, T, x_.get() + l * MC, xtmp_.get(), wkv_.get(), nullptr, nullptr, ck_.get());
      layer_backward(l, B, T, x_.get() + l * MC, grad_.get() + l * HNN);
    }
    grad_.download(grad_s0, L * HNN, s_);
    check(cudaStreamSynchronize(s_), "loss_and_grad");
    return res;
  }

 private:
  void embed_ln0(int M, float* x) const {
    embed(M, d_.C, tokens_.get(), emb_, x, s_);
    norm_forward(M, d_.C, d_.C, x, ln0_w_, ln0_b_, x, kLayerNormEps, s_);
  }

  // x_out = layer l applied to x_in ([B·T, C]); wkv [B,H,N,N] in/out; att_prev/ffn_prev [C] are the
  // shift states of a single sequence (null = zeros). Layer 0 writes vfirst_, later layers read it.
  void layer_forward(int l, int B, int T, const float* x_in, float* x_out, float* wkv, const float* att_prev,
                     const float* ffn_prev, float* ck) const {
    const LayerWeights& w = layers_[l];
    const int M = B * T, C = d_.C, H = d_.H;
    Acts& a = acts_;
    norm_forward(M, C, C, x_in, w.ln1_w, w.ln1_b, a.xa.get(), kLayerNormEps, s_);
    Mixes mix{};
    mix.n = kMaxMix;
    for (int i = 0; i < kMaxMix; ++i) { mix.mu[i] = w.mu[i]; mix.out[i] = a.mix[i].get(); }
    shift_mix(M, T, C, a.xa.get(), att_prev, mix, s_);
    gemm(M, a.mix[kR].get(), w.R, true, a.r.get(), 0.f, s_);
    gemm(M, a.mix[kK].get(), w.K, true, a.k.get(), 0.f, s_);
    gemm(M, a.mix[kV].get(), w.V, true, a.v.get(), 0.f, s_);
    gemm(M, a.mix[kW].get(), w.w1, false, a.hw.get(), 0.f, s_);
    activate(long(M) * d_.Dw, Act::Tanh, a.hw.get(), a.hw.get(), s_);
    gemm(M, a.hw.get(), w.w2, false, a.z.get(), 0.f, s_);
    gemm(M, a.mix[kA].get(), w.a1, false, a.ha.get(), 0.f, s_);
    gemm(M, a.ha.get(), w.a2, false, a.za.get(), 0.f, s_);
    if (w.value_residual) {
      gemm(M, a.mix[kV].get(), w.v1, false, a.hv.get(), 0.f, s_);
      gemm(M, a.hv.get(), w.v2, false, a.zv.get(), 0.f, s_);
    }
    gemm(M, a.mix[kG].get(), w.g1, false, a.hg.get(), 0.f, s_);
    activate(long(M) * d_.Dg, Act::Sigmoid, a.hg.get(), a.hg.get(), s_);
    gemm(M, a.hg.get(), w.g2, false, a.g.get(), 0.f, s_);
    const TmActs ta = a.tm(w.value_residual ? vfirst_.get() : nullptr);
    tm_prepare(M, H, w.tv, ta, s_);
    if (!w.value_residual) copy_d2d(vfirst_.get(), a.vv.get(), size_t(M) * C, s_);
    const Wkv7In in{a.r.get(), a.what.get(), a.kw.get(), a.vv.get(), a.aop.get(), a.bop.get()};
    wkv7_forward(B, T, H, in, wkv, a.y.get(), ck, s_);
    norm_forward(M, C, N, a.y.get(), w.lnx_w, w.lnx_b, a.yo.get(), kGroupNormEps, s_);
    bonus_gate(M, H, w.tv, ta, a.yo.get(), a.g.get(), a.beta.get(), a.gy.get(), s_);
    copy_d2d(a.x1.get(), x_in, size_t(M) * C, s_);
    gemm(M, a.gy.get(), w.O, true, a.x1.get(), 1.f, s_);
    norm_forward(M, C, C, a.x1.get(), w.ln2_w, w.ln2_b, a.xf.get(), kLayerNormEps, s_);
    Mixes fmix{};
    fmix.n = 1; fmix.mu[0] = w.mu_ffn; fmix.out[0] = a.xk.get();
    shift_mix(M, T, C, a.xf.get(), ffn_prev, fmix, s_);
    gemm(M, a.xk.get(), w.fK, true, a.hpre.get(), 0.f, s_);
    activate(long(M) * d_.F, Act::ReluSquare, a.hpre.get(), a.hf.get(), s_);
    copy_d2d(x_out, a.x1.get(), size_t(M) * C, s_);
    gemm(M, a.hf.get(), w.fV, true, x_out, 1.f, s_);
  }

  // With acts_ and ck_ from layer_forward(l): dx_ holds ∂/∂x_out on entry and ∂/∂x_in on return;
  // grad_l [H,N,N] = ∂/∂(this layer's initial wkv state), summed over the batch.
  void layer_backward(int l, int B, int T, const float* x_in, float* grad_l) const {
    const LayerWeights& w = layers_[l];
    const int M = B * T, C = d_.C, H = d_.H;
    Acts& a = acts_;
    float* dX = dx_.get();
    // Channel mix.
    gemm(M, dX, w.fV, false, a.dhf.get(), 0.f, s_);
    activate_backward(long(M) * d_.F, Act::ReluSquare, a.hpre.get(), a.dhf.get(), s_);
    gemm(M, a.dhf.get(), w.fK, false, a.xk.get(), 0.f, s_);  // xk now holds ∂/∂xk
    MixGrads fg{};
    fg.n = 1; fg.mu[0] = w.mu_ffn; fg.d[0] = a.xk.get();
    shift_mix_backward(M, T, C, fg, a.dxf.get(), s_);
    norm_backward(M, C, C, a.x1.get(), w.ln2_w, a.dxf.get(), dX, true, kLayerNormEps, s_);
    // Time mix: output, gate, bonus, GroupNorm, WKV.
    gemm(M, dX, w.O, false, a.dgy.get(), 0.f, s_);
    const TmActs ta = a.tm(w.value_residual ? vfirst_.get() : nullptr);
    bonus_gate_backward(M, H, w.tv, ta, a.yo.get(), a.g.get(), a.beta.get(), a.dgy.get(), a.dyo.get(), a.dg.get(),
                        a.dr.get(), a.dkw.get(), a.dvv.get(), s_);
    norm_backward(M, C, N, a.y.get(), w.lnx_w, a.dyo.get(), a.dy.get(), false, kGroupNormEps, s_);
    const Wkv7In in{a.r.get(), a.what.get(), a.kw.get(), a.vv.get(), a.aop.get(), a.bop.get()};
    const Wkv7Grad wg{a.dr_w.get(), a.dwhat.get(), a.dk_w.get(), a.dv_w.get(), a.da.get(), a.db.get()};
    wkv7_backward(B, T, H, in, ck_.get(), a.dy.get(), wg, ds0_.get(), scratch_.get(), s_);
    sum_batches(B, long(H) * N * N, ds0_.get(), grad_l, s_);
    const TmGrads tg{a.dr.get(), a.dkw.get(), a.dvv.get(), a.dr_w.get(), a.dk_w.get(), a.dv_w.get(), a.dwhat.get(),
                     a.da.get(), a.db.get(), a.dz.get(), a.dza.get(), a.dzv.get(), dvfirst_.get()};
    tm_prepare_backward(M, H, w.tv, ta, tg, s_);
    // Projections and LoRAs back to the six mixed inputs (the mix buffers now hold their gradients).
    float* dl = a.dlora.get();
    gemm(M, a.dr.get(), w.R, false, a.mix[kR].get(), 0.f, s_);
    gemm(M, a.dkw.get(), w.K, false, a.mix[kK].get(), 0.f, s_);
    gemm(M, a.dvv.get(), w.V, false, a.mix[kV].get(), 0.f, s_);
    if (w.value_residual) {
      gemm(M, a.dzv.get(), w.v2, true, dl, 0.f, s_);
      gemm(M, dl, w.v1, true, a.mix[kV].get(), 1.f, s_);
    }
    gemm(M, a.dz.get(), w.w2, true, dl, 0.f, s_);
    activate_backward(long(M) * d_.Dw, Act::Tanh, a.hw.get(), dl, s_);
    gemm(M, dl, w.w1, true, a.mix[kW].get(), 0.f, s_);
    gemm(M, a.dza.get(), w.a2, true, dl, 0.f, s_);
    gemm(M, dl, w.a1, true, a.mix[kA].get(), 0.f, s_);
    gemm(M, a.dg.get(), w.g2, true, dl, 0.f, s_);
    activate_backward(long(M) * d_.Dg, Act::Sigmoid, a.hg.get(), dl, s_);
    gemm(M, dl, w.g1, true, a.mix[kG].get(), 0.f, s_);
    MixGrads mg{};
    mg.n = kMaxMix;
    for (int i = 0; i < kMaxMix; ++i) { mg.mu[i] = w.mu[i]; mg.d[i] = a.mix[i].get(); }
    shift_mix_backward(M, T, C, mg, a.dxf.get(), s_);
    norm_backward(M, C, C, x_in, w.ln1_w, a.dxf.get(), dX, true, kLayerNormEps, s_);
  }

  cudaStream_t s_;
  WeightStore store_;
  Dims d_{};
  const __nv_bfloat16* emb_ = nullptr;
  const float *ln0_w_ = nullptr, *ln0_b_ = nullptr;
  HeadDevice head_;
  std::vector<LayerWeights> layers_;
  // Working memory, grown on demand and kept between calls; calls are serialised by mu_.
  mutable std::mutex mu_;
  mutable Acts acts_;
  mutable HeadScratch hs_;
  mutable DeviceBuffer<int32_t> tokens_, targets_;
  mutable DeviceBuffer<float> x_, xtmp_, dx_, vfirst_, dvfirst_, wkv_, att_x_, ffn_x_, logits_, s0_, grad_, ds0_,
      ck_, scratch_;
};

}  // namespace

std::unique_ptr<rwkv::Model> make_model_v7_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                                const QuantOptions& quant) {
  if (cfg.head_size != N) throw RwkvError("CUDA model: head size " + std::to_string(cfg.head_size) + " (only 64 is supported)");
  make_model_v7(cfg, tensors);  // the CPU model's validation: names and shapes, with the key in the message
  return std::make_unique<CudaRwkv7>(cfg, tensors, quant);
}

}  // namespace rwkv::cuda

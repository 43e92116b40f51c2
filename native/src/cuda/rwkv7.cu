// RWKV-7 ("x070") layers on the GPU: the CPU model's math (cpu/rwkv7.cc, docs/spec.md §1.3–1.4, §3.4);
// the drivers (sequence/RNN forward, state tuning) are CudaModel's.
#include <algorithm>
#include <string>
#include <vector>

#include "cuda/cuda_model.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/gemm.cuh"
#include "cuda/norm.cuh"
#include "cuda/rwkv7_ops.cuh"
#include "cuda/wkv7.cuh"

namespace rwkv::cuda {
namespace {

enum { kR, kW, kK, kV, kA, kG };  // order of the six token-shift mixes

struct LayerWeights {
  const float *ln1_w, *ln1_b, *ln2_w, *ln2_b, *lnx_w, *lnx_b, *mu_ffn;
  const float* mu[kMaxMix];
  TmVectors tv;
  DeviceWeight w1, w2, a1, a2, v1, v2, g1, g2, R, K, V, O, fK, fV;
  bool value_residual = false;  // layers ≥ 1
};

struct Dims { int C, H, F, Dw, Da, Dv, Dg; };

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
    for (auto* b :
         {&dgy, &dyo, &dg, &dr, &dkw, &dvv, &dy, &dr_w, &dk_w, &dv_w, &dwhat, &da, &db, &dz, &dza, &dzv, &dxf})
      b->resize(M * C);
    dlora.resize(M * std::max({d.Dw, d.Da, d.Dv, d.Dg}));
    dhf.resize(M * d.F);
  }
  TmActs tm(const float* vfirst) const {
    return {r.get(), k.get(), v.get(), z.get(), za.get(), zv.get(), what.get(), alpha.get(), vg.get(), vv.get(),
            kn.get(), knorm.get(), kw.get(), aop.get(), bop.get(), vfirst};
  }
};

class CudaRwkv7 final : public CudaModel {
 public:
  CudaRwkv7(const Config& cfg, const TensorMap& t, const QuantOptions& q) : CudaModel(cfg, t) {
    auto get = [&](const std::string& k) -> const TensorView& { return tensor(t, k); };
    const int L = cfg.n_layer;
    d_ = {cfg.n_embd, cfg.n_head, cfg.dim_ffn, int(get("blocks.0.att.w1").dim(1)), int(get("blocks.0.att.a1").dim(1)),
          L > 1 ? int(get("blocks.1.att.v1").dim(1)) : 1, int(get("blocks.0.att.g1").dim(1))};
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

 private:
  void reserve(size_t M, bool backward) const override {
    acts_.reserve(M, d_, backward);
    vfirst_.resize(M * d_.C);
    if (backward) dvfirst_.resize(M * d_.C);
  }
  const float* att_shift_rows() const override { return acts_.xa.get(); }
  const float* ffn_shift_rows() const override { return acts_.xf.get(); }
  void begin_backward(size_t M) const override { dvfirst_.zero(M * d_.C, s_); }

  // Layer 0 writes vfirst_, later layers read it.
  void layer_forward(int l, int B, int T, const float* x_in, float* x_out, float* wkv, const float* att_prev,
                     const float* ffn_prev, float* ck) const override {
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

  void layer_backward(int l, int B, int T, const float* x_in, float* grad_l) const override {
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

  Dims d_{};
  std::vector<LayerWeights> layers_;
  mutable Acts acts_;
  mutable DeviceBuffer<float> vfirst_, dvfirst_;
};

}  // namespace

std::unique_ptr<rwkv::Model> make_model_v7_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                                const QuantOptions& quant) {
  if (cfg.head_size != kWkvN)
    throw RwkvError("CUDA model: head size " + std::to_string(cfg.head_size) + " (only 64 is supported)");
  return std::make_unique<CudaRwkv7>(cfg, tensors, quant);
}

}  // namespace rwkv::cuda

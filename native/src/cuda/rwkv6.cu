// RWKV-6 ("x060") layers on the GPU: the CPU model's math (cpu/rwkv6.cc, docs/spec.md §2.2, §3.4) on the
// shared CudaModel drivers. Data-dependent token shift (time_maa LoRA, branches w,k,v,r,g), decay
// LoRA, SiLU gate, WKV6 with bonus u, and the receptance-gated channel mix.
#include <string>
#include <vector>

#include "cuda/cuda_model.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/gemm.cuh"
#include "cuda/norm.cuh"
#include "cuda/wkv6.cuh"

namespace rwkv::cuda {
namespace {

enum { kW, kK, kV, kR, kG, kBranches };  // time_maa_w1/w2 chunk order

struct LayerWeights {
  const float *ln1_w, *ln1_b, *ln2_w, *ln2_b, *lnx_w, *lnx_b, *maa_x, *decay, *u, *fmaa_k, *fmaa_r;
  const float* maa[kBranches];
  DeviceWeight maa_w1, maa_w2[kBranches], decay_w1, decay_w2, R, K, V, G, O, fK, fR, fV;
};

struct Dims { int C, H, F, Dm, Dd; };

struct Acts {
  DeviceBuffer<float> xa, xxx, mm, mb[kBranches], mix[kBranches], r, k, v, gp, g, hd, what, w, y, yn, gy, x1, xf, xk,
      xr, hpre, hf, kv, rs;
  DeviceBuffer<float> dkv, drs, dhf, dxf, dgy, dyn, dg, dy, dr, dk, dv, dw, dhd, dm[kBranches], dmm, dxxx;

  void reserve(size_t M, const Dims& d, bool backward) {
    const size_t C = d.C;
    for (auto* b : {&xa, &xxx, &r, &k, &v, &gp, &g, &what, &w, &y, &yn, &gy, &x1, &xf, &xk, &xr, &kv, &rs})
      b->resize(M * C);
    for (int i = 0; i < kBranches; ++i) { mb[i].resize(M * C); mix[i].resize(M * C); }
    mm.resize(M * kBranches * d.Dm); hd.resize(M * d.Dd); hpre.resize(M * d.F); hf.resize(M * d.F);
    if (!backward) return;
    for (auto* b : {&dkv, &drs, &dxf, &dgy, &dyn, &dg, &dy, &dr, &dk, &dv, &dw, &dxxx}) b->resize(M * C);
    for (auto& b : dm) b.resize(M * C);
    dhf.resize(M * d.F); dhd.resize(M * d.Dd); dmm.resize(M * kBranches * d.Dm);
  }
};

class CudaRwkv6 final : public CudaModel {
 public:
  CudaRwkv6(const Config& cfg, const TensorMap& t, const QuantOptions& q) : CudaModel(cfg, t) {
    auto get = [&](const std::string& k) -> const TensorView& { return tensor(t, k); };
    d_ = {cfg.n_embd, cfg.n_head, cfg.dim_ffn, int(get("blocks.0.att.time_maa_w1").dim(1)) / kBranches,
          int(get("blocks.0.att.time_decay_w1").dim(1))};
    for (int l = 0; l < cfg.n_layer; ++l) {
      const std::string a = "blocks." + std::to_string(l) + ".att.", f = "blocks." + std::to_string(l) + ".ffn.";
      const std::string b = "blocks." + std::to_string(l) + ".";
      auto vec = [&](const std::string& k) { return store_.vec(get(k)); };
      auto mat = [&](const std::string& k, Quant qk = Quant::None) { return store_.matrix(get(k), qk); };
      LayerWeights w;
      w.ln1_w = vec(b + "ln1.weight"); w.ln1_b = vec(b + "ln1.bias"); w.ln2_w = vec(b + "ln2.weight");
      w.ln2_b = vec(b + "ln2.bias"); w.lnx_w = vec(a + "ln_x.weight"); w.lnx_b = vec(a + "ln_x.bias");
      w.maa_x = vec(a + "time_maa_x"); w.decay = vec(a + "time_decay"); w.u = vec(a + "time_faaaa");
      w.fmaa_k = vec(f + "time_maa_k"); w.fmaa_r = vec(f + "time_maa_r");
      const char* names[kBranches] = {"w", "k", "v", "r", "g"};
      for (int i = 0; i < kBranches; ++i) w.maa[i] = vec(a + "time_maa_" + names[i]);
      w.maa_w1 = mat(a + "time_maa_w1");
      const __nv_bfloat16* w2 = store_.bf16(get(a + "time_maa_w2"));  // [5, Dm, C]: one [Dm, C] per branch
      for (int i = 0; i < kBranches; ++i) {
        w.maa_w2[i].rows = d_.Dm; w.maa_w2[i].cols = d_.C; w.maa_w2[i].bf16 = w2 + size_t(i) * d_.Dm * d_.C;
      }
      w.decay_w1 = mat(a + "time_decay_w1"); w.decay_w2 = mat(a + "time_decay_w2");
      w.R = mat(a + "receptance.weight", q.quant); w.K = mat(a + "key.weight", q.quant);
      w.V = mat(a + "value.weight", q.quant); w.G = mat(a + "gate.weight", q.quant);
      w.O = mat(a + "output.weight", q.quant);
      w.fK = mat(f + "key.weight", q.quant); w.fR = mat(f + "receptance.weight", q.quant);
      w.fV = mat(f + "value.weight", q.quant);
      layers_.push_back(w);
    }
    check(cudaStreamSynchronize(s_), "weight upload");
  }

 private:
  void reserve(size_t M, bool backward) const override { acts_.reserve(M, d_, backward); }
  const float* att_shift_rows() const override { return acts_.xa.get(); }
  const float* ffn_shift_rows() const override { return acts_.xf.get(); }

  void layer_forward(int l, int B, int T, const float* x_in, float* x_out, float* wkv, const float* att_prev,
                     const float* ffn_prev, float* ck) const override {
    const LayerWeights& w = layers_[l];
    const int M = B * T, C = d_.C, D5 = kBranches * d_.Dm;
    const long MC = long(M) * C;
    Acts& a = acts_;
    norm_forward(M, C, C, x_in, w.ln1_w, w.ln1_b, a.xa.get(), kLayerNormEps, s_);
    Mixes xm{};
    xm.n = 1; xm.mu[0] = w.maa_x; xm.out[0] = a.xxx.get();
    shift_mix(M, T, C, a.xa.get(), att_prev, xm, s_);
    gemm(M, a.xxx.get(), w.maa_w1, false, a.mm.get(), 0.f, s_);
    activate(long(M) * D5, Act::Tanh, a.mm.get(), a.mm.get(), s_);
    Mixes mix{};
    mix.n = kBranches;
    for (int i = 0; i < kBranches; ++i) {
      gemm(M, C, d_.Dm, a.mm.get() + i * d_.Dm, D5, w.maa_w2[i], false, a.mb[i].get(), C, 0.f, s_);
      mix.mu[i] = w.maa[i]; mix.m[i] = a.mb[i].get(); mix.out[i] = a.mix[i].get();
    }
    shift_mix(M, T, C, a.xa.get(), att_prev, mix, s_);
    gemm(M, a.mix[kR].get(), w.R, true, a.r.get(), 0.f, s_);
    gemm(M, a.mix[kK].get(), w.K, true, a.k.get(), 0.f, s_);
    gemm(M, a.mix[kV].get(), w.V, true, a.v.get(), 0.f, s_);
    gemm(M, a.mix[kG].get(), w.G, true, a.gp.get(), 0.f, s_);
    activate(MC, Act::Silu, a.gp.get(), a.g.get(), s_);
    gemm(M, a.mix[kW].get(), w.decay_w1, false, a.hd.get(), 0.f, s_);
    activate(long(M) * d_.Dd, Act::Tanh, a.hd.get(), a.hd.get(), s_);
    gemm(M, a.hd.get(), w.decay_w2, false, a.what.get(), 0.f, s_);
    add_row_vector(M, C, w.decay, a.what.get(), s_);
    activate(MC, Act::DecayExp, a.what.get(), a.w.get(), s_);
    const Wkv6Shape sh{B, T, d_.H, N};
    wkv6_forward(sh, a.r.get(), a.k.get(), a.v.get(), a.w.get(), w.u, wkv, a.y.get(), ck, s_);
    norm_forward(M, C, N, a.y.get(), w.lnx_w, w.lnx_b, a.yn.get(), kGroupNormEps, s_);
    multiply(MC, a.yn.get(), a.g.get(), a.gy.get(), s_);
    copy_d2d(a.x1.get(), x_in, size_t(MC), s_);
    gemm(M, a.gy.get(), w.O, true, a.x1.get(), 1.f, s_);
    // Channel mix: out = σ(x_r·Rᵀ) ⊙ (relu(x_k·Kᵀ)²·Vᵀ).
    norm_forward(M, C, C, a.x1.get(), w.ln2_w, w.ln2_b, a.xf.get(), kLayerNormEps, s_);
    Mixes fm{};
    fm.n = 2; fm.mu[0] = w.fmaa_k; fm.out[0] = a.xk.get(); fm.mu[1] = w.fmaa_r; fm.out[1] = a.xr.get();
    shift_mix(M, T, C, a.xf.get(), ffn_prev, fm, s_);
    gemm(M, a.xk.get(), w.fK, true, a.hpre.get(), 0.f, s_);
    activate(long(M) * d_.F, Act::ReluSquare, a.hpre.get(), a.hf.get(), s_);
    gemm(M, a.hf.get(), w.fV, true, a.kv.get(), 0.f, s_);
    gemm(M, a.xr.get(), w.fR, true, a.rs.get(), 0.f, s_);
    activate(MC, Act::Sigmoid, a.rs.get(), a.rs.get(), s_);
    copy_d2d(x_out, a.x1.get(), size_t(MC), s_);
    mul_add(MC, a.rs.get(), a.kv.get(), x_out, s_);
  }

  void layer_backward(int l, int B, int T, const float* x_in, float* grad_l) const override {
    const LayerWeights& w = layers_[l];
    const int M = B * T, C = d_.C, H = d_.H, D5 = kBranches * d_.Dm;
    const long MC = long(M) * C;
    Acts& a = acts_;
    float* dX = dx_.get();
    // Channel mix.
    multiply(MC, dX, a.rs.get(), a.dkv.get(), s_);
    multiply(MC, dX, a.kv.get(), a.drs.get(), s_);
    activate_backward(MC, Act::Sigmoid, a.rs.get(), a.drs.get(), s_);
    gemm(M, a.drs.get(), w.fR, false, a.xr.get(), 0.f, s_);  // xr, xk now hold their gradients
    gemm(M, a.dkv.get(), w.fV, false, a.dhf.get(), 0.f, s_);
    activate_backward(long(M) * d_.F, Act::ReluSquare, a.hpre.get(), a.dhf.get(), s_);
    gemm(M, a.dhf.get(), w.fK, false, a.xk.get(), 0.f, s_);
    MixGrads fg{};
    fg.n = 2; fg.mu[0] = w.fmaa_k; fg.d[0] = a.xk.get(); fg.mu[1] = w.fmaa_r; fg.d[1] = a.xr.get();
    shift_mix_backward(M, T, C, fg, a.dxf.get(), s_);
    norm_backward(M, C, C, a.x1.get(), w.ln2_w, a.dxf.get(), dX, true, kLayerNormEps, s_);
    // Time mix: output and gate, GroupNorm, WKV6.
    gemm(M, dX, w.O, false, a.dgy.get(), 0.f, s_);
    multiply(MC, a.dgy.get(), a.g.get(), a.dyn.get(), s_);
    multiply(MC, a.dgy.get(), a.yn.get(), a.dg.get(), s_);
    activate_backward(MC, Act::Silu, a.gp.get(), a.dg.get(), s_);
    norm_backward(M, C, N, a.y.get(), w.lnx_w, a.dyn.get(), a.dy.get(), false, kGroupNormEps, s_);
    const Wkv6Shape sh{B, T, H, N};
    ds0_.zero(size_t(B) * H * N * N, s_);  // no gradient flows in from the final state
    wkv6_backward(sh, a.r.get(), a.k.get(), a.v.get(), a.w.get(), w.u, ck_.get(), a.dy.get(), ds0_.get(), a.dr.get(),
                  a.dk.get(), a.dv.get(), a.dw.get(), nullptr, scratch_.get(), s_);
    sum_batches(B, long(H) * N * N, ds0_.get(), grad_l, s_);
    activate_backward(MC, Act::DecayExp, a.what.get(), a.dw.get(), s_);  // dw now ∂/∂ŵ
    // Projections and LoRAs back to the five mixed inputs (mix buffers now hold their gradients).
    gemm(M, a.dr.get(), w.R, false, a.mix[kR].get(), 0.f, s_);
    gemm(M, a.dk.get(), w.K, false, a.mix[kK].get(), 0.f, s_);
    gemm(M, a.dv.get(), w.V, false, a.mix[kV].get(), 0.f, s_);
    gemm(M, a.dg.get(), w.G, false, a.mix[kG].get(), 0.f, s_);
    gemm(M, a.dw.get(), w.decay_w2, true, a.dhd.get(), 0.f, s_);
    activate_backward(long(M) * d_.Dd, Act::Tanh, a.hd.get(), a.dhd.get(), s_);
    gemm(M, a.dhd.get(), w.decay_w1, true, a.mix[kW].get(), 0.f, s_);
    // Data-dependent coefficients: ∂/∂m_i = d_i·(prev − xa), back through time_maa_w2/w1 and tanh.
    const float* d[kBranches];
    float* dm[kBranches];
    for (int i = 0; i < kBranches; ++i) { d[i] = a.mix[i].get(); dm[i] = a.dm[i].get(); }
    shift_delta_product(M, T, C, a.xa.get(), nullptr, kBranches, d, dm, s_);
    for (int i = 0; i < kBranches; ++i)
      gemm(M, d_.Dm, C, dm[i], C, w.maa_w2[i], true, a.dmm.get() + i * d_.Dm, D5, 0.f, s_);
    activate_backward(long(M) * D5, Act::Tanh, a.mm.get(), a.dmm.get(), s_);
    gemm(M, a.dmm.get(), w.maa_w1, true, a.dxxx.get(), 0.f, s_);
    MixGrads mg{};
    mg.n = kBranches + 1;
    for (int i = 0; i < kBranches; ++i) { mg.mu[i] = w.maa[i]; mg.m[i] = a.mb[i].get(); mg.d[i] = a.mix[i].get(); }
    mg.mu[kBranches] = w.maa_x; mg.d[kBranches] = a.dxxx.get();
    shift_mix_backward(M, T, C, mg, a.dxf.get(), s_);
    norm_backward(M, C, C, x_in, w.ln1_w, a.dxf.get(), dX, true, kLayerNormEps, s_);
  }

  Dims d_{};
  std::vector<LayerWeights> layers_;
  mutable Acts acts_;
};

}  // namespace

std::unique_ptr<rwkv::Model> make_model_v6_cuda(const rwkv::Config& cfg, const rwkv::TensorMap& tensors,
                                                const QuantOptions& quant) {
  if (cfg.head_size != 64)
    throw RwkvError("CUDA model: head size " + std::to_string(cfg.head_size) + " (only 64 is supported)");
  return std::make_unique<CudaRwkv6>(cfg, tensors, quant);
}

}  // namespace rwkv::cuda

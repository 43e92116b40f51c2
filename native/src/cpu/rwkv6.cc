// RWKV-6 ("x060") layers on the CPU (docs/spec.md §2.2, §3.4): loading, layer_forward and layer_backward;
// the drivers (sequence and RNN mode, training chunks) are CpuModel's. The per-token work of a
// call's B·T rows is batched as GEMMs; only the WKV recurrence runs over time. The backward gives
// input gradients only (every weight is frozen): down to the initial states and the layer input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/cpu_model.h"
#include "cpu/norm.h"
#include "cpu/rows.h"
#include "cpu/scratch_buf.h"
#include "cpu/threadpool.h"
#include "cpu/token_shift.h"
#include "cpu/vmath.h"
#include "cpu/wkv6.h"

#define RWKV_PER_ISA_FILE "cpu/rwkv6_rows.inc"
#include "cpu/per_isa.h"

namespace rwkv {
namespace {

using Buf = ScratchBuf;            // temporaries and activations
using Weights = std::vector<float>;  // a layer's vectors, loaded once

enum Branch { kW = 0, kK, kV, kR, kG, kBranches };  // time_maa_w1/w2 chunk order

struct Layer {
  NormWeights ln1, ln2, lnx;
  Weights maa_x, maa[kBranches], decay, u, fmaa_k, fmaa_r;  // u = time_faaaa [H·N]
  Mat maa_w1, maa_w2, decay_w1, decay_w2, R, K, V, G, O, fK, fR, fV;  // maa_w2: [5·Dm, C] (file [5, Dm, C])
};

// What one layer's forward keeps for its backward ([M, width] rows, M = B·T).
struct Acts final : LayerActs {
  Buf dlt, r, k, v, w, what, gpre, y, yn, x1, kv, rs;  // [M, C]
  Buf mix;                                             // [kBranches, M, C]: maa_i + m_i·w2_i
  Buf m1, hw, hpre;                                    // [M, 5·Dm], [M, Dd], [M, F]
  Buf ckpt;                                            // wkv checkpoints (training only)
  Acts(long M, int C, int F, int Dm, int Dd, size_t ckpt_floats) {
    for (Buf* b : {&dlt, &r, &k, &v, &w, &what, &gpre, &y, &yn, &x1, &kv, &rs}) b->resize(M * C);
    mix.resize(kBranches * M * C);
    m1.resize(M * kBranches * Dm); hw.resize(M * Dd); hpre.resize(M * F);
    ckpt.resize(ckpt_floats);
  }
  size_t bytes() const override {
    size_t n = 0;
    for (const Buf* b : {&dlt, &r, &k, &v, &w, &what, &gpre, &y, &yn, &x1, &kv, &rs, &mix, &m1, &hw, &hpre, &ckpt})
      n += b->size();
    return n * sizeof(float);
  }
};

class Rwkv6 final : public CpuModel {
 public:
  Rwkv6(const Config& cfg, const Loader& ld, const CpuOptions& opt) : CpuModel(cfg, ld, opt) { load(ld); }

 private:
  void load(const Loader& ld);
  std::unique_ptr<LayerActs> new_acts(int B, int T, bool for_backward) const override {
    return std::make_unique<Acts>(long(B) * T, C(), F(), Dm_, Dd_, for_backward ? shape(B, T).checkpoint_floats() : 0);
  }
  int carry_width() const override { return 0; }
  void layer_forward(int l, int B, int T, float* x, float* carry, const LayerState& s, LayerActs& a) const override;
  void layer_backward(int l, int B, int T, const float* x_in, const float* carry, const float* wkv0,
                      const LayerActs& a, float* dx, const LayerState& d, bool need_dx) const override;
  void time_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const;
  void channel_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const;
  void channel_mix_backward(const Layer& L, int B, int T, const Acts& A, float* dx, const LayerState& d) const;
  void time_mix_backward(const Layer& L, int B, int T, const float* x_in, const Acts& A, float* dx,
                         const LayerState& d, bool need_dx) const;
  Wkv6Shape shape(int B, int T) const { return {B, T, H(), N()}; }

  std::vector<Layer> layers_;
  int Dm_ = 0, Dd_ = 0;  // LoRA widths: data-dependent mix, decay
};

void Rwkv6::load(const Loader& ld) {
  const Config& c = cfg_;
  const int C = c.n_embd, F = c.dim_ffn;
  const int D5 = ld.width("blocks.0.att.time_maa_w1", C);
  if (D5 % kBranches != 0)
    throw RwkvError("RWKV-6 checkpoint: tensor blocks.0.att.time_maa_w1 has shape [" + std::to_string(C) + ", " +
                    std::to_string(D5) + "], expected [" + std::to_string(C) + ", 5·D_MIX_LORA]");
  Dm_ = D5 / kBranches;
  Dd_ = ld.width("blocks.0.att.time_decay_w1", C);
  auto vec = [&](const std::string& key) { return ld.vec(key, {1, 1, C}); };
  static const char* kMaaNames[kBranches] = {"w", "k", "v", "r", "g"};
  layers_.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[l];
    const std::string p = "blocks." + std::to_string(l) + ".", a = p + "att.", f = p + "ffn.";
    L.ln1 = ld.norm(p + "ln1", C); L.ln2 = ld.norm(p + "ln2", C);
    L.maa_x = vec(a + "time_maa_x");
    for (int i = 0; i < kBranches; ++i) L.maa[i] = vec(a + "time_maa_" + kMaaNames[i]);
    L.maa_w1 = ld.matrix(a + "time_maa_w1", C, D5);
    const TensorView& w2 = ld.exact(a + "time_maa_w2", {kBranches, Dm_, C});
    L.maa_w2 = {w2.data, w2.dtype, D5, C};
    L.decay = vec(a + "time_decay");
    L.decay_w1 = ld.matrix(a + "time_decay_w1", C, Dd_); L.decay_w2 = ld.matrix(a + "time_decay_w2", Dd_, C);
    L.u = ld.vec(a + "time_faaaa", {c.n_head, c.head_size});
    L.R = ld.matrix(a + "receptance.weight", C, C); L.K = ld.matrix(a + "key.weight", C, C);
    L.V = ld.matrix(a + "value.weight", C, C); L.G = ld.matrix(a + "gate.weight", C, C);
    L.O = ld.matrix(a + "output.weight", C, C);
    L.lnx = ld.norm(a + "ln_x", C);
    L.fmaa_k = vec(f + "time_maa_k"); L.fmaa_r = vec(f + "time_maa_r");
    L.fK = ld.matrix(f + "key.weight", F, C); L.fR = ld.matrix(f + "receptance.weight", C, C);
    L.fV = ld.matrix(f + "value.weight", C, F);
  }
}

void Rwkv6::layer_forward(int l, int B, int T, float* x, float*, const LayerState& s, LayerActs& a) const {
  Acts& A = static_cast<Acts&>(a);
  time_mix(layers_[l], B, T, x, s, A);
  std::memcpy(A.x1.data(), x, size_t(B) * T * C() * sizeof(float));  // the residual between the mixes
  channel_mix(layers_[l], B, T, x, s, A);
}

void Rwkv6::layer_backward(int l, int B, int T, const float* x_in, const float*, const float*, const LayerActs& a,
                           float* dx, const LayerState& d, bool need_dx) const {
  const Acts& A = static_cast<const Acts&>(a);
  channel_mix_backward(layers_[l], B, T, A, dx, d);
  time_mix_backward(layers_[l], B, T, x_in, A, dx, d, need_dx);
}

// x += TimeMix(ln1(x)) (docs/spec.md §2.2 steps 1–6). The wkv checkpoints are written when A has room.
void Rwkv6::time_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const {
  const int C = this->C(), D5 = kBranches * Dm_;
  const long M = long(B) * T, MC = M * C;
  const int m = int(M);
  Buf xa(MC), xi(MC);
  norm_shift(B, T, C, x, L.ln1.w.data(), L.ln1.b.data(), s.att_x, xa.data(), A.dlt.data());

  // Data-dependent mixing: m = tanh((xa + d⊙maa_x)·w1), per branch mix_i = maa_i + m_i·w2_i.
  shift_mix(M, C, xa.data(), A.dlt.data(), L.maa_x.data(), xi.data());
  const auto tanh_range = RWKV_PER_ISA(tanh_range);
  const auto branch_mix = RWKV_PER_ISA(v6_branch_mix_rows);
  const auto decay_rows = RWKV_PER_ISA(v6_decay_rows);
  mul(m, xi.data(), L.maa_w1, false, A.m1.data());
  parallel_for(M * D5, [&](long i0, long i1) { tanh_range(i0, i1, A.m1.data()); }, kElemGrain);
  for (int i = 0; i < kBranches; ++i) {
    float* mix = &A.mix[i * MC];
    mul(m, A.m1.data() + i * Dm_, D5, L.maa_w2.rows_slice(i * Dm_, Dm_), false, mix, C);
    parallel_for(M, [&](long r0, long r1) {
      branch_mix(r0, r1, C, xa.data(), A.dlt.data(), L.maa[i].data(), mix, xi.data());
    }, kRowGrain);
    switch (i) {
      case kW:
        mul(m, xi.data(), L.decay_w1, false, A.hw.data());
        parallel_for(M * Dd_, [&](long i0, long i1) { tanh_range(i0, i1, A.hw.data()); }, kElemGrain);
        mul(m, A.hw.data(), L.decay_w2, false, A.what.data());
        parallel_for(M, [&](long r0, long r1) {
          decay_rows(r0, r1, C, L.decay.data(), A.what.data(), A.w.data());
        }, kRowGrain);
        break;
      case kK: mul(m, xi.data(), L.K, true, A.k.data()); break;
      case kV: mul(m, xi.data(), L.V, true, A.v.data()); break;
      case kR: mul(m, xi.data(), L.R, true, A.r.data()); break;
      case kG: mul(m, xi.data(), L.G, true, A.gpre.data()); break;
    }
  }

  wkv6_forward(shape(B, T), A.r.data(), A.k.data(), A.v.data(), A.w.data(), L.u.data(), s.wkv, A.y.data(),
               A.ckpt.empty() ? nullptr : A.ckpt.data());
  group_norm(m, H(), N(), A.y.data(), L.lnx.w.data(), L.lnx.b.data(), A.yn.data());
  const auto gate = RWKV_PER_ISA(v6_gate_range);
  parallel_for(MC, [&](long i0, long i1) { gate(i0, i1, A.yn.data(), A.gpre.data(), xi.data()); }, kElemGrain);
  mul(m, xi.data(), L.O, true, x, 1.f);
}

// x += ChannelMix(ln2(x)) = σ(x_r·Rᵀ) ⊙ (relu(x_k·Kᵀ)²·Vᵀ).
void Rwkv6::channel_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const {
  const int C = this->C();
  const long M = long(B) * T, MC = M * C;
  Buf xf(MC), dlt(MC), xk(MC), xr(MC);
  norm_shift(B, T, C, x, L.ln2.w.data(), L.ln2.b.data(), s.ffn_x, xf.data(), dlt.data());
  shift_mix(M, C, xf.data(), dlt.data(), L.fmaa_r.data(), xr.data());
  shift_mix(M, C, xf.data(), dlt.data(), L.fmaa_k.data(), xk.data());
  mul(int(M), xr.data(), L.fR, true, A.rs.data());
  sqrelu_ffn(int(M), xk.data(), L.fK, L.fV, A.hpre.data(), A.kv.data(), 0.f);
  const auto out = RWKV_PER_ISA(v6_channel_out_range);
  parallel_for(MC, [&](long i0, long i1) { out(i0, i1, A.kv.data(), A.rs.data(), x); }, kElemGrain);
}

// dx: ∂/∂(layer output) → ∂/∂x1 (the residual after the time mix); d.ffn_x: final → initial.
void Rwkv6::channel_mix_backward(const Layer& L, int B, int T, const Acts& A, float* dx, const LayerState& d) const {
  const int C = this->C();
  const long M = long(B) * T, MC = M * C;
  Buf drs(MC), dkv(MC), dmix(MC), dxf(MC, 0.f), dd(MC, 0.f);
  const auto out_back = RWKV_PER_ISA(v6_channel_out_backward_range);
  parallel_for(MC, [&](long i0, long i1) {
    out_back(i0, i1, dx, A.kv.data(), A.rs.data(), drs.data(), dkv.data());
  }, kElemGrain);
  sqrelu_ffn_backward(int(M), dkv.data(), L.fK, L.fV, A.hpre.data(), dmix.data());
  shift_mix_backward(M, C, dmix.data(), L.fmaa_k.data(), dxf.data(), dd.data());
  mul(int(M), drs.data(), L.fR, false, dmix.data());
  shift_mix_backward(M, C, dmix.data(), L.fmaa_r.data(), dxf.data(), dd.data());
  norm_shift_backward(B, T, C, A.x1.data(), L.ln2.w.data(), dxf.data(), dd.data(), d.ffn_x, dx);
}

// dx: ∂/∂x1 → ∂/∂(layer input) (need_dx); d.wkv and (need_dx) d.att_x: final → initial.
void Rwkv6::time_mix_backward(const Layer& L, int B, int T, const float* x_in, const Acts& A, float* dx,
                              const LayerState& d, bool need_dx) const {
  const int C = this->C(), D5 = kBranches * Dm_;
  const long M = long(B) * T, MC = M * C;
  const int m = int(M);

  // Output and gate: dx → ∂/∂(yn ⊙ silu(gpre)).
  Buf dgy(MC), dyn(MC), dgpre(MC), dy(MC);
  mul(m, dx, L.O, false, dgy.data());
  const auto gate_back = RWKV_PER_ISA(v6_gate_backward_range);
  parallel_for(MC, [&](long i0, long i1) {
    gate_back(i0, i1, dgy.data(), A.yn.data(), A.gpre.data(), dyn.data(), dgpre.data());
  }, kElemGrain);
  group_norm_backward(m, H(), N(), A.y.data(), L.lnx.w.data(), dyn.data(), dy.data(), false);

  // WKV: d.wkv is ∂L/∂(final state) in, ∂L/∂(initial state) out.
  Buf dr(need_dx ? MC : 0), dk(dr.size()), dv(dr.size()), dw(dr.size());
  wkv6_backward(shape(B, T), A.r.data(), A.k.data(), A.v.data(), A.w.data(), L.u.data(), A.ckpt.data(), dy.data(),
                d.wkv, need_dx ? dr.data() : nullptr, need_dx ? dk.data() : nullptr, need_dx ? dv.data() : nullptr,
                need_dx ? dw.data() : nullptr, nullptr);
  if (!need_dx) return;

  // Back through the five mixed inputs x_i = xa + d⊙mix_i, collecting ∂/∂xa and ∂/∂(shift delta).
  Buf dxi(MC), dhw(M * Dd_), dm1(M * D5), dxa(MC, 0.f), dd(MC, 0.f);
  const auto decay_back = RWKV_PER_ISA(v6_decay_backward_range);
  const auto tanh_back = RWKV_PER_ISA(tanh_backward_range);
  const auto branch_back = RWKV_PER_ISA(v6_branch_backward_range);
  for (int i = 0; i < kBranches; ++i) {
    switch (i) {
      case kW:
        parallel_for(MC, [&](long j0, long j1) {
          decay_back(j0, j1, A.w.data(), A.what.data(), dw.data());
        }, kElemGrain);
        mul(m, dw.data(), L.decay_w2, true, dhw.data());
        parallel_for(M * Dd_, [&](long j0, long j1) { tanh_back(j0, j1, A.hw.data(), dhw.data()); }, kElemGrain);
        mul(m, dhw.data(), L.decay_w1, true, dxi.data());
        break;
      case kK: mul(m, dk.data(), L.K, false, dxi.data()); break;
      case kV: mul(m, dv.data(), L.V, false, dxi.data()); break;
      case kR: mul(m, dr.data(), L.R, false, dxi.data()); break;
      case kG: mul(m, dgpre.data(), L.G, false, dxi.data()); break;
    }
    const float* mix = &A.mix[i * MC];
    parallel_for(MC, [&](long j0, long j1) {  // dxi becomes ∂/∂mix_i = ∂/∂(m_i·w2_i)
      branch_back(j0, j1, mix, A.dlt.data(), dxi.data(), dxa.data(), dd.data());
    }, kElemGrain);
    mul(m, dxi.data(), C, L.maa_w2.rows_slice(i * Dm_, Dm_), true, dm1.data() + i * Dm_, D5);
  }
  parallel_for(M * D5, [&](long j0, long j1) { tanh_back(j0, j1, A.m1.data(), dm1.data()); }, kElemGrain);
  mul(m, dm1.data(), L.maa_w1, true, dxi.data());  // ∂/∂(xa + d⊙maa_x)
  shift_mix_backward(M, C, dxi.data(), L.maa_x.data(), dxa.data(), dd.data());
  norm_shift_backward(B, T, C, x_in, L.ln1.w.data(), dxa.data(), dd.data(), d.att_x, dx);
}

}  // namespace

std::unique_ptr<Model> make_model_v6(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt) {
  return std::make_unique<Rwkv6>(cfg, Loader(tensors, "RWKV-6"), opt);
}

}  // namespace rwkv

// RWKV-7 ("x070") layers on the CPU (docs/spec.md §1.3, §3.4): loading, layer_forward and layer_backward;
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
#include "cpu/wkv7.h"

namespace rwkv {
namespace {

// The pointers of the per-token passes in rwkv7_rows.inc ([M, C] rows unless noted).
struct V7Operands {
  int C, H, N;
  bool value_residual;
  const float *w0, *a0, *v0, *k_a, *k_k;  // [C] weights
  const float *k0, *v_pre;
  float *z, *what, *alpha, *nu, *v, *k, *vfirst, *kh, *a_op, *b_op;
  float* knorm;  // [M, H]
};
struct V7OperandsBackward {
  int C, H, N;
  bool value_residual;
  const float *k_a, *k_k;  // [C] weights
  const float *wr, *wk, *wv, *wb, *z, *alpha, *kh, *k0, *nu, *vfirst, *v_pre, *knorm;
  float *dr, *dk, *dv, *ww, *wa, *dalpha, *dk0, *dv_pre;
};
struct V7Bonus {
  int C, H, N;
  const float *r_k, *r, *k, *v, *g;  // r_k [H, N]
};

}  // namespace
}  // namespace rwkv

#define RWKV_PER_ISA_FILE "cpu/rwkv7_rows.inc"
#include "cpu/per_isa.h"

namespace rwkv {
namespace {

using Buf = ScratchBuf;            // temporaries and activations
using Weights = std::vector<float>;  // a layer's vectors, loaded once

struct Layer {
  NormWeights ln1, ln2, lnx;
  Weights mu_r, mu_w, mu_k, mu_v, mu_a, mu_g, w0, a0, v0, k_k, k_a, r_k, mu_ffn;
  // The LoRAs' ups (w2, a2, v2, g2) are held transposed, [C, D] like an nn.Linear: RNN mode's
  // per-head step then reads its heads' part of each as one contiguous run, which the hardware
  // prefetcher follows, instead of D short strided pieces (0.1B bf16 decode on the Zen 4 VM:
  // 0.13 ± 0.03 ms a token faster, 150 paired rounds; bench/RESULTS.md).
  Mat w1, w2, a1, a2, v1, v2, g1, g2, R, K, V, O, fK, fV;
  bool value_residual = false;  // layers ≥ 1
};

// What one layer's forward keeps for its backward ([M, width] rows, M = B·T).
struct Acts final : LayerActs {
  Buf r, k0, v_pre, k, v, kh, what, z, alpha, g, nu, y, yn, x1;  // [M, C]
  Buf knorm, beta;                                                // [M, H]
  Buf hw, gg, hpre;                                               // [M, Dw], [M, Dg], [M, F]
  Buf wkv_saved;  // what the WKV forward keeps for its backward (cpu/wkv7.h; training only)
  Acts(long M, int C, int H, int F, int Dw, int Dg, size_t saved_floats) {
    for (Buf* b : {&r, &k0, &v_pre, &k, &v, &kh, &what, &z, &alpha, &g, &nu, &y, &yn, &x1}) b->resize(M * C);
    knorm.resize(M * H); beta.resize(M * H);
    hw.resize(M * Dw); gg.resize(M * Dg); hpre.resize(M * F);
    wkv_saved.resize(saved_floats);
  }
  float* saved() { return wkv_saved.empty() ? nullptr : wkv_saved.data(); }
  const float* saved() const { return wkv_saved.empty() ? nullptr : wkv_saved.data(); }
  size_t bytes() const override {
    size_t n = 0;
    for (const Buf* b : {&r, &k0, &v_pre, &k, &v, &kh, &what, &z, &alpha, &g, &nu, &y, &yn, &x1, &knorm, &beta, &hw,
                         &gg, &hpre, &wkv_saved})
      n += b->size();
    return n * sizeof(float);
  }
};

class Rwkv7 final : public CpuModel {
 public:
  Rwkv7(const Config& cfg, const Loader& ld, const CpuOptions& opt) : CpuModel(cfg, ld, opt) { load(ld); }

 private:
  void load(const Loader& ld);
  std::unique_ptr<LayerActs> new_acts(int B, int T, bool for_backward) const override {
    return std::make_unique<Acts>(long(B) * T, C(), H(), F(), Dw_, Dg_,
                                  for_backward ? wkv7_saved_floats(B, T, H(), N()) : 0);
  }
  int carry_width() const override { return C(); }  // v_first
  void layer_forward(int l, int B, int T, float* x, float* carry, const LayerState& s, LayerActs& a) const override;
  void layer_backward(int l, int B, int T, const float* x_in, const float* carry, const float* wkv0,
                      const LayerActs& a, float* dx, const LayerState& d, bool need_dx) const override;
  void time_mix(const Layer& L, int B, int T, float* x, float* vfirst, const LayerState& s, Acts& A) const;
  void channel_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const;
  void channel_mix_backward(const Layer& L, int B, int T, const Acts& A, float* dx, const LayerState& d) const;
  void time_mix_backward(const Layer& L, int B, int T, const float* x_in, const float* vfirst, const float* wkv0,
                         const Acts& A, float* dx, const LayerState& d, bool need_dx) const;

  std::vector<Layer> layers_;
  int Dw_ = 0, Da_ = 0, Dv_ = 0, Dg_ = 0;  // LoRA widths
};

void Rwkv7::load(const Loader& ld) {
  const Config& c = cfg_;
  const int C = c.n_embd, F = c.dim_ffn;
  Dw_ = ld.width("blocks.0.att.w1", C);
  Da_ = ld.width("blocks.0.att.a1", C);
  Dg_ = ld.width("blocks.0.att.g1", C);
  Dv_ = c.n_layer > 1 ? ld.width("blocks.1.att.v1", C) : 0;
  auto vec = [&](const std::string& key) { return ld.vec(key, {1, 1, C}); };
  layers_.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[l];
    const std::string p = "blocks." + std::to_string(l) + ".", a = p + "att.", f = p + "ffn.";
    L.ln1 = ld.norm(p + "ln1", C); L.ln2 = ld.norm(p + "ln2", C);
    L.mu_r = vec(a + "x_r"); L.mu_w = vec(a + "x_w"); L.mu_k = vec(a + "x_k");
    L.mu_v = vec(a + "x_v"); L.mu_a = vec(a + "x_a"); L.mu_g = vec(a + "x_g");
    L.w0 = vec(a + "w0"); L.a0 = vec(a + "a0"); L.k_k = vec(a + "k_k"); L.k_a = vec(a + "k_a");
    L.r_k = ld.exact(a + "r_k", {c.n_head, c.head_size}).to_f32();
    L.w1 = ld.matrix(a + "w1", C, Dw_); L.w2 = ld.matrix_transposed(a + "w2", Dw_, C);
    L.a1 = ld.matrix(a + "a1", C, Da_); L.a2 = ld.matrix_transposed(a + "a2", Da_, C);
    L.g1 = ld.matrix(a + "g1", C, Dg_); L.g2 = ld.matrix_transposed(a + "g2", Dg_, C);
    L.value_residual = l > 0;  // layer 0's v0/v1/v2, when a file has them, are unused
    if (L.value_residual) {
      L.v0 = vec(a + "v0");
      L.v1 = ld.matrix(a + "v1", C, Dv_); L.v2 = ld.matrix_transposed(a + "v2", Dv_, C);
    }
    L.R = ld.matrix(a + "receptance.weight", C, C); L.K = ld.matrix(a + "key.weight", C, C);
    L.V = ld.matrix(a + "value.weight", C, C); L.O = ld.matrix(a + "output.weight", C, C);
    L.lnx = ld.norm(a + "ln_x", C);
    L.mu_ffn = vec(f + "x_k");
    L.fK = ld.matrix(f + "key.weight", F, C); L.fV = ld.matrix(f + "value.weight", C, F);
  }
}

void Rwkv7::layer_forward(int l, int B, int T, float* x, float* carry, const LayerState& s, LayerActs& a) const {
  Acts& A = static_cast<Acts&>(a);
  time_mix(layers_[l], B, T, x, carry, s, A);
  std::memcpy(A.x1.data(), x, size_t(B) * T * C() * sizeof(float));  // the residual between the mixes
  channel_mix(layers_[l], B, T, x, s, A);
}

void Rwkv7::layer_backward(int l, int B, int T, const float* x_in, const float* carry, const float* wkv0,
                           const LayerActs& a, float* dx, const LayerState& d, bool need_dx) const {
  const Acts& A = static_cast<const Acts&>(a);
  channel_mix_backward(layers_[l], B, T, A, dx, d);
  time_mix_backward(layers_[l], B, T, x_in, carry, wkv0, A, dx, d, need_dx);
}

// x += TimeMix(ln1(x)) (docs/spec.md §1.3 steps 1–11). Layer 0 writes vfirst, the others read it.
void Rwkv7::time_mix(const Layer& L, int B, int T, float* x, float* vfirst, const LayerState& s, Acts& A) const {
  const int C = this->C(), H = this->H(), N = this->N();
  const long M = long(B) * T, MC = M * C;
  const int m = int(M);
  // The six token-shift mixes, then their products in two batches (the LoRAs' inner activations
  // between them): in RNN mode each batch is one parallel region streaming its matrices back to back.
  Buf xa(MC), mr(MC), mk(MC), mv(MC), mw(MC), ma(MC), mg(MC), lora_v(M * Dv_), lora_a(M * Da_);
  layer_norm(m, C, x, L.ln1.w.data(), L.ln1.b.data(), xa.data());
  for (auto [mu, out] : {std::pair{&L.mu_r, &mr}, {&L.mu_k, &mk}, {&L.mu_v, &mv}, {&L.mu_w, &mw}, {&L.mu_a, &ma},
                         {&L.mu_g, &mg}})
    shift_mix_from(B, T, C, xa.data(), s.att_x, mu->data(), out->data());
  last_rows(B, T, C, xa.data(), s.att_x);  // the mixes are done: the shift state moves on
  const bool vr = L.value_residual;
  mul_batch(m, {{mr.data(), &L.R, true, A.r.data()},
                {mk.data(), &L.K, true, A.k0.data()},
                {mv.data(), &L.V, true, A.v_pre.data()},
                {mv.data(), vr ? &L.v1 : nullptr, false, lora_v.data()},
                {mw.data(), &L.w1, false, A.hw.data()},
                {ma.data(), &L.a1, false, lora_a.data()},
                {mg.data(), &L.g1, false, A.gg.data()}});
  const auto tanh_range = RWKV_PER_ISA(tanh_range);
  parallel_for(M * Dw_, [&](long i0, long i1) { tanh_range(i0, i1, A.hw.data()); }, kElemGrain);
  const auto sigmoid_range = RWKV_PER_ISA(sigmoid_range);
  parallel_for(M * Dg_, [&](long i0, long i1) { sigmoid_range(i0, i1, A.gg.data()); }, kElemGrain);
  Buf& a_op = xa;  // reuse: xa and mr are not needed any more
  Buf& b_op = mr;
  Buf& ug = a_op;  // reuse again: a head's operands are consumed before its ug is written
  const auto operands = RWKV_PER_ISA(v7_operands_rows);
  const auto bonus_rows = RWKV_PER_ISA(v7_bonus_rows);
  // Heads [h0, h1) of the passes below, as views of one row (whole rows when h0 = 0, h1 = H).
  const auto operands_of = [&](int h0, int h1) {
    const int c0 = h0 * N;
    return V7Operands{(h1 - h0) * N, h1 - h0, N, vr, L.w0.data() + c0, L.a0.data() + c0,
                      vr ? L.v0.data() + c0 : nullptr, L.k_a.data() + c0, L.k_k.data() + c0, A.k0.data() + c0,
                      A.v_pre.data() + c0, A.z.data() + c0, A.what.data() + c0, A.alpha.data() + c0,
                      A.nu.data() + c0, A.v.data() + c0, A.k.data() + c0, vfirst + c0, A.kh.data() + c0,
                      a_op.data() + c0, b_op.data() + c0, A.knorm.data() + h0};
  };
  const auto bonus_of = [&](int h0, int h1) {
    const int c0 = h0 * N;
    return V7Bonus{(h1 - h0) * N, h1 - h0, N, L.r_k.data() + c0, A.r.data() + c0, A.k.data() + c0,
                   A.v.data() + c0, A.g.data() + c0};
  };
  const auto wkv_in_of = [&](int c0) {
    return Wkv7In{A.r.data() + c0, A.what.data() + c0, A.k.data() + c0, A.v.data() + c0, a_op.data() + c0,
                  b_op.data() + c0};
  };
  if (M == 1 && !A.saved()) {
    // RNN mode: from the LoRAs' up products to the gate, every step is per head (or per channel),
    // so both threads take half the heads through all of them in one parallel region, instead of
    // a region per step with the serial steps between them leaving a thread idle (RNN decode of
    // the 0.1B model: these steps took 51 µs a layer, now 44).
    // These steps stream little, so meanwhile each thread prefetches, in four parts between them,
    // the rows of O that it computes next: O's product below splits its rows as this region splits
    // the heads (the same parallel_for over H: the same ranges, each on the same thread; only the
    // prefetch's use rests on that, not the result). Decode at reads of 45-50 GB/s: 0.15-0.22 ms
    // a token faster; at ~30 GB/s no different.
    parallel_for(H, [&](long h0, long h1) {
      const int c0 = int(h0) * N, n = int(h1 - h0) * N;
      if (vr) mul_rows(1, lora_v.data(), L.v2, c0, n, A.nu.data());
      mul_rows(1, A.hw.data(), L.w2, c0, n, A.z.data());
      mul_rows(1, lora_a.data(), L.a2, c0, n, A.alpha.data());
      mul_rows(1, A.gg.data(), L.g2, c0, n, A.g.data());
      prefetch_rows(L.O, c0, n, 0, 4);
      operands(0, 1, operands_of(int(h0), int(h1)));
      prefetch_rows(L.O, c0, n, 1, 4);
      wkv7_forward(1, 1, int(h1 - h0), N, wkv_in_of(c0), s.wkv + h0 * N * N, A.y.data() + c0);
      prefetch_rows(L.O, c0, n, 2, 4);
      group_norm(1, int(h1 - h0), N, A.y.data() + c0, L.lnx.w.data() + c0, L.lnx.b.data() + c0, A.yn.data() + c0);
      prefetch_rows(L.O, c0, n, 3, 4);
      bonus_rows(0, 1, bonus_of(int(h0), int(h1)), A.yn.data() + c0, ug.data() + c0, A.beta.data() + h0);
    });
    parallel_for(H, [&](long h0, long h1) {
      mul_rows(1, ug.data(), L.O, int(h0) * N, int(h1 - h0) * N, x, 1.f);
    });
  } else {
    mul_batch(m, {{lora_v.data(), vr ? &L.v2 : nullptr, true, A.nu.data()},
                  {A.hw.data(), &L.w2, true, A.z.data()},
                  {lora_a.data(), &L.a2, true, A.alpha.data()},
                  {A.gg.data(), &L.g2, true, A.g.data()}});
    const V7Operands ops = operands_of(0, H);
    parallel_for(M, [&](long r0, long r1) { operands(r0, r1, ops); }, kRowGrain);
    wkv7_forward(B, T, H, N, wkv_in_of(0), s.wkv, A.y.data(), A.saved());
    group_norm(m, H, N, A.y.data(), L.lnx.w.data(), L.lnx.b.data(), A.yn.data());
    const V7Bonus bonus = bonus_of(0, H);
    parallel_for(M, [&](long r0, long r1) {
      bonus_rows(r0, r1, bonus, A.yn.data(), ug.data(), A.beta.data());
    }, kRowGrain);
    mul(m, ug.data(), L.O, true, x, 1.f);
  }
}

// x += ChannelMix(ln2(x)) = relu(x_k·Kᵀ)²·Vᵀ.
void Rwkv7::channel_mix(const Layer& L, int B, int T, float* x, const LayerState& s, Acts& A) const {
  const int C = this->C();
  const long M = long(B) * T, MC = M * C;
  Buf xf(MC), xk(MC);
  layer_norm(int(M), C, x, L.ln2.w.data(), L.ln2.b.data(), xf.data());
  shift_mix_from(B, T, C, xf.data(), s.ffn_x, L.mu_ffn.data(), xk.data());
  last_rows(B, T, C, xf.data(), s.ffn_x);
  sqrelu_ffn(int(M), xk.data(), L.fK, L.fV, A.hpre.data(), x, 1.f);
}

// dx: ∂/∂(layer output) → ∂/∂x1 (the residual after the time mix); d.ffn_x: final → initial.
void Rwkv7::channel_mix_backward(const Layer& L, int B, int T, const Acts& A, float* dx, const LayerState& d) const {
  const int C = this->C();
  const long M = long(B) * T, MC = M * C;
  Buf dmix(MC), dxf(MC, 0.f), dd(MC, 0.f);
  sqrelu_ffn_backward(int(M), dx, L.fK, L.fV, A.hpre.data(), dmix.data());
  shift_mix_backward(M, C, dmix.data(), L.mu_ffn.data(), dxf.data(), dd.data());
  norm_shift_backward(B, T, C, A.x1.data(), L.ln2.w.data(), dxf.data(), dd.data(), d.ffn_x, dx);
}

// dx: ∂/∂x1 → ∂/∂(layer input) (need_dx); d.wkv and (need_dx) d.att_x: final → initial.
void Rwkv7::time_mix_backward(const Layer& L, int B, int T, const float* x_in, const float* vfirst, const float* wkv0,
                              const Acts& A, float* dx, const LayerState& d, bool need_dx) const {
  const int C = this->C(), H = this->H(), N = this->N();
  const long M = long(B) * T, MC = M * C;
  const int m = int(M);

  // Output, gate, bonus.
  Buf dug(MC), dg(MC), dr(MC), dk(MC), dv(MC), dy(MC);
  mul(m, dx, L.O, false, dug.data());
  const V7Bonus bonus{C, H, N, L.r_k.data(), A.r.data(), A.k.data(), A.v.data(), A.g.data()};
  const auto bonus_back = RWKV_PER_ISA(v7_bonus_backward_rows);
  parallel_for(M, [&](long r0, long r1) {
    bonus_back(r0, r1, bonus, A.yn.data(), A.beta.data(), dug.data(), dg.data(), dy.data(), dr.data(), dk.data(),
               dv.data());
  }, kRowGrain);
  group_norm_backward(m, H, N, A.y.data(), L.lnx.w.data(), dy.data(), dug.data(), false);  // dug ← ∂L/∂y

  // WKV, from the initial state wkv0 with ∂L/∂(final state) arriving in d.wkv.
  Buf a_op(MC), b_op(MC);
  const auto ab = RWKV_PER_ISA(v7_ab_range);
  parallel_for(MC, [&](long i0, long i1) {
    ab(i0, i1, A.kh.data(), A.alpha.data(), a_op.data(), b_op.data());
  }, kElemGrain);
  Buf wr(MC), ww(MC), wk(MC), wv(MC), wa(MC), wb(MC);
  const Buf dsT(d.wkv, d.wkv + long(B) * H * N * N);
  wkv7_backward(B, T, H, N, {A.r.data(), A.what.data(), A.k.data(), A.v.data(), a_op.data(), b_op.data()}, wkv0,
                dug.data(), dsT.data(), {wr.data(), ww.data(), wk.data(), wv.data(), wa.data(), wb.data()}, d.wkv,
                A.saved());
  if (!need_dx) return;

  // Back through the kernel operands to the projections. Reuses: a_op → dk0, b_op → dalpha,
  // ww → dz and wa → dκ̂ (in place), dy → dv_pre; dv ends as ∂L/∂(ν pre-activation). v_first
  // gets no gradient: it depends on layer 0's input alone, which nothing trained reaches.
  Buf& dk0 = a_op;
  Buf& dalpha = b_op;
  Buf& dv_pre = dy;
  const V7OperandsBackward ob{C, H, N, L.value_residual, L.k_a.data(), L.k_k.data(), wr.data(), wk.data(),
                              wv.data(), wb.data(), A.z.data(), A.alpha.data(), A.kh.data(), A.k0.data(),
                              A.nu.data(), vfirst, A.v_pre.data(), A.knorm.data(), dr.data(), dk.data(), dv.data(),
                              ww.data(), wa.data(), dalpha.data(), dk0.data(), dv_pre.data()};
  const auto operands_backward = RWKV_PER_ISA(v7_operands_backward_rows);
  parallel_for(M, [&](long r0, long r1) { operands_backward(r0, r1, ob); }, kRowGrain);

  // Gradients w.r.t. the six mixed inputs, each split into ∂L/∂xa and ∂L/∂(shift delta).
  Buf lora(M * std::max({Dw_, Da_, Dv_, Dg_})), dmix(MC), dxa(MC, 0.f), dd(MC, 0.f);
  const auto tanh_back = RWKV_PER_ISA(tanh_backward_range);
  const auto sigmoid_back = RWKV_PER_ISA(sigmoid_backward_range);
  auto mix_back = [&](const Weights& mu) {
    shift_mix_backward(M, C, dmix.data(), mu.data(), dxa.data(), dd.data());
  };
  mul(m, dr.data(), L.R, false, dmix.data());
  mix_back(L.mu_r);
  mul(m, dk0.data(), L.K, false, dmix.data());
  mix_back(L.mu_k);
  mul(m, dv_pre.data(), L.V, false, dmix.data());
  if (L.value_residual) {
    mul(m, dv.data(), L.v2, false, lora.data());
    mul(m, lora.data(), L.v1, true, dmix.data(), 1.f);
  }
  mix_back(L.mu_v);
  mul(m, ww.data(), L.w2, false, lora.data());
  parallel_for(M * Dw_, [&](long i0, long i1) { tanh_back(i0, i1, A.hw.data(), lora.data()); }, kElemGrain);
  mul(m, lora.data(), L.w1, true, dmix.data());
  mix_back(L.mu_w);
  mul(m, dalpha.data(), L.a2, false, lora.data());
  mul(m, lora.data(), L.a1, true, dmix.data());
  mix_back(L.mu_a);
  mul(m, dg.data(), L.g2, false, lora.data());
  parallel_for(M * Dg_, [&](long i0, long i1) { sigmoid_back(i0, i1, A.gg.data(), lora.data()); }, kElemGrain);
  mul(m, lora.data(), L.g1, true, dmix.data());
  mix_back(L.mu_g);
  norm_shift_backward(B, T, C, x_in, L.ln1.w.data(), dxa.data(), dd.data(), d.att_x, dx);
}

}  // namespace

std::unique_ptr<Model> make_model_v7(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt) {
  return std::make_unique<Rwkv7>(cfg, Loader(tensors, "RWKV-7"), opt);
}

}  // namespace rwkv

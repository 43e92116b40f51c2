// RWKV-6 ("x060", spec §2) on the CPU: weights are views of the caller's tensors (matrices stay
// bf16/fp32 as stored; small vectors are copied to fp32), sequence and RNN forward, and the
// state-tuning loss with its gradient w.r.t. each layer's initial wkv state (spec §3.1, §3.4).
//
// Training is memory-frugal like PEFT's --grad_cp 1: the forward keeps each layer's input [B·T, C]
// (plus the full activations of as many top layers as fit RWKV_ACT_CACHE_MB); the backward
// recomputes the other layers one at a time and propagates input gradients only (all weights frozen).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/head.h"
#include "cpu/cpu_model.h"
#include "cpu/norm.h"
#include "cpu/threadpool.h"
#include "cpu/vmath.h"
#include "cpu/wkv6.h"

namespace rwkv {
namespace {

// A stored 2-D weight with its logical [rows, cols] (row-major, as in the file).
struct Mat {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int rows = 0, cols = 0;
  Mat rows_slice(int r0, int n) const {
    return {static_cast<const char*>(data) + size_t(r0) * cols * dtype_size(dtype), dtype, n, cols};
  }
};

// C[M,·] = A·Wᵀ (trans: W is [N, K], an nn.Linear [out, in]) or A·W (W is [K, N], a LoRA
// [in, out]), plus beta·C. Backward passes use the other orientation of the same weight.
void mul(int M, const float* A, int lda, const Mat& W, bool trans, float* C, int ldc, float beta = 0.f) {
  const int N = trans ? W.rows : W.cols, K = trans ? W.cols : W.rows;
  matmul(M, N, K, A, lda, W.data, W.dtype, W.cols, trans, C, ldc, beta);
}

// Runs f(m) for every row m in parallel; rows are independent tokens.
template <class F>
void per_row(int M, F&& f) {
  parallel_for(M, [&](long b, long e) { for (long m = b; m < e; ++m) f(size_t(m)); }, 4);
}

// Memory that state tuning may spend on keeping layer activations instead of recomputing them:
// RWKV_ACT_CACHE_MB, default 512 MiB (0 = recompute every layer, the most frugal).
size_t activation_cache_bytes() {
  const char* env = std::getenv("RWKV_ACT_CACHE_MB");
  const long mb = env && *env ? std::strtol(env, nullptr, 10) : 512;
  return size_t(std::max(0L, mb)) << 20;
}

// Token shift over B sequences of T rows: d[b,t] = x[b,t−1] − x[b,t], where the row before t = 0
// is first[b] (the carried shift state) or zero when first is null (training).
void shift_delta(int B, int T, int C, const float* x, const float* first, float* d) {
  per_row(B * T, [&](size_t m) {
    const size_t t = m % T;
    const float* prev = t ? x + (m - 1) * C : first ? first + (m / T) * C : nullptr;
    const float* xm = x + m * C;
    float* dm = d + m * C;
    for (int c = 0; c < C; ++c) dm[c] = (prev ? prev[c] : 0.f) - xm[c];
  });
}

// Adds the gradient of shift_delta w.r.t. x to dx given dd = ∂L/∂d (the carried state is a
// constant in training, so its share is dropped).
void shift_delta_backward(int B, int T, int C, const float* dd, float* dx) {
  per_row(B * T, [&](size_t m) {
    const bool has_next = (m % T) + 1 < size_t(T);
    const float* cur = dd + m * C;
    const float* next = dd + (m + 1) * C;
    float* g = dx + m * C;
    for (int c = 0; c < C; ++c) g[c] += (has_next ? next[c] : 0.f) - cur[c];
  });
}

// Copies the last row of each sequence into the carried shift state.
void keep_last_rows(int B, int T, int C, const float* x, float* state) {
  for (int b = 0; b < B; ++b) std::memcpy(state + size_t(b) * C, x + (size_t(b) * T + T - 1) * C, C * sizeof(float));
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Looks tensors up by key and checks their shapes, naming the key in every error.
class Weights {
 public:
  explicit Weights(const TensorMap& t) : t_(t) {}
  const TensorView& find(const std::string& key) const {
    auto it = t_.find(key);
    if (it == t_.end()) throw RwkvError("RWKV-6 checkpoint: missing tensor " + key);
    if (!it->second.data) throw RwkvError("RWKV-6 checkpoint: tensor " + key + " has no data");
    return it->second;
  }
  const TensorView& get(const std::string& key, const std::vector<int64_t>& shape) const {
    const TensorView& v = find(key);
    if (v.shape != shape)
      throw RwkvError("RWKV-6 checkpoint: tensor " + key + " has shape " + shape_str(v.shape) + ", expected " +
                      shape_str(shape));
    return v;
  }
  Mat mat(const std::string& key, int rows, int cols) const {
    const TensorView& v = get(key, {rows, cols});
    return {v.data, v.dtype, rows, cols};
  }
  // Small per-channel tensors, copied to fp32. Singleton dims are ignored ([C] and [1,1,C] both
  // occur in converted files).
  std::vector<float> vec(const std::string& key, const std::vector<int64_t>& shape) const {
    const TensorView& v = find(key);
    if (squeeze(v.shape) != squeeze(shape))
      throw RwkvError("RWKV-6 checkpoint: tensor " + key + " has shape " + shape_str(v.shape) + ", expected " +
                      shape_str(shape));
    return v.to_f32();
  }

 private:
  static std::vector<int64_t> squeeze(const std::vector<int64_t>& s) {
    std::vector<int64_t> out;
    for (auto d : s) if (d != 1) out.push_back(d);
    return out;
  }
  const TensorMap& t_;
};

enum Branch { kW = 0, kK, kV, kR, kG, kBranches };  // time_maa_w1/w2 chunk order

struct Layer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::vector<float> maa_x, maa[kBranches];  // time_maa_x; time_maa_{w,k,v,r,g}
  Mat maa_w1, maa_w2;                         // [C, 5·Dm], [5·Dm, C] (file shape [5, Dm, C])
  std::vector<float> decay;                   // time_decay [C]
  Mat decay_w1, decay_w2;                     // [C, Dd], [Dd, C]
  std::vector<float> u;                       // time_faaaa [H·N]
  Mat R, K, V, G, O;                          // [C, C]
  std::vector<float> lnx_w, lnx_b;
  std::vector<float> fmaa_k, fmaa_r;
  Mat fK, fR, fV;                             // [F, C], [C, C], [C, F]
};

// One layer's activations for M = B·T rows (kept for the backward when training).
struct Acts {
  int M = 0;
  std::vector<float> xa, dlt, m1, mix, xi, r, k, v, w, wl, dech, gpre, y, yn, ckpt, xmid, xf, fdl, kr, kk, vv, rr;
  Acts(int B, int T, int C, int F, int Dm, int Dd, const Wkv6Shape& ws, bool training) : M(B * T) {
    const size_t MC = size_t(M) * C;
    for (auto* b : {&xa, &dlt, &xi, &r, &k, &v, &w, &wl, &gpre, &y, &yn, &xmid, &xf, &fdl, &vv, &rr}) b->resize(MC);
    mix.resize(kBranches * MC);
    m1.resize(size_t(M) * kBranches * Dm);
    dech.resize(size_t(M) * Dd);
    kr.resize(size_t(M) * F);
    kk.resize(size_t(M) * F);
    if (training) ckpt.resize(ws.checkpoint_floats());
  }
  size_t bytes() const {
    size_t n = 0;
    for (auto* b : {&xa, &dlt, &m1, &mix, &xi, &r, &k, &v, &w, &wl, &dech, &gpre, &y, &yn, &ckpt, &xmid, &xf, &fdl, &kr, &kk, &vv, &rr})
      n += b->size();
    return n * sizeof(float);
  }
};

class Rwkv6 final : public Model {
 public:
  Rwkv6(const Config& cfg, const TensorMap& tensors) {
    cfg_ = cfg;
    const int L = cfg.n_layer, C = cfg.n_embd, H = cfg.n_head, N = cfg.head_size, V = cfg.vocab, F = cfg.dim_ffn;
    if (L <= 0 || C <= 0 || H <= 0 || N <= 0 || V <= 0 || F <= 0)
      throw RwkvError("RWKV-6 config: n_layer, n_embd, n_head, head_size, vocab and dim_ffn must be positive");
    if (H * N != C)
      throw RwkvError("RWKV-6 config: n_head·head_size = " + std::to_string(H * N) + " differs from n_embd " + std::to_string(C));
    Weights t(tensors);
    const int64_t c = C;
    emb_ = t.get("emb.weight", {V, c});
    ln0_w_ = t.vec("blocks.0.ln0.weight", {c});
    ln0_b_ = t.vec("blocks.0.ln0.bias", {c});
    lnout_w_ = t.vec("ln_out.weight", {c});
    lnout_b_ = t.vec("ln_out.bias", {c});
    head_.ln_w = lnout_w_.data();
    head_.ln_b = lnout_b_.data();
    head_.head = t.get("head.weight", {V, c});

    // LoRA widths come from layer 0's shapes; every layer must agree (checked below).
    const TensorView& w1 = t.find("blocks.0.att.time_maa_w1");
    if (w1.shape.size() != 2 || w1.shape[1] % kBranches != 0)
      throw RwkvError("RWKV-6 checkpoint: tensor blocks.0.att.time_maa_w1 has shape " + shape_str(w1.shape) +
                      ", expected [" + std::to_string(C) + ", 5·D_MIX_LORA]");
    Dm_ = int(w1.shape[1] / kBranches);
    const TensorView& d1 = t.find("blocks.0.att.time_decay_w1");
    if (d1.shape.size() != 2)
      throw RwkvError("RWKV-6 checkpoint: tensor blocks.0.att.time_decay_w1 has shape " + shape_str(d1.shape) +
                      ", expected [" + std::to_string(C) + ", D_DECAY_LORA]");
    Dd_ = int(d1.shape[1]);

    static const char* kMaaNames[kBranches] = {"w", "k", "v", "r", "g"};
    layers_.resize(L);
    for (int l = 0; l < L; ++l) {
      Layer& y = layers_[l];
      const std::string p = "blocks." + std::to_string(l) + ".", a = p + "att.", f = p + "ffn.";
      y.ln1_w = t.vec(p + "ln1.weight", {c});
      y.ln1_b = t.vec(p + "ln1.bias", {c});
      y.ln2_w = t.vec(p + "ln2.weight", {c});
      y.ln2_b = t.vec(p + "ln2.bias", {c});
      y.maa_x = t.vec(a + "time_maa_x", {1, 1, c});
      for (int i = 0; i < kBranches; ++i) y.maa[i] = t.vec(a + "time_maa_" + kMaaNames[i], {1, 1, c});
      y.maa_w1 = t.mat(a + "time_maa_w1", C, kBranches * Dm_);
      const TensorView& w2 = t.get(a + "time_maa_w2", {kBranches, Dm_, c});
      y.maa_w2 = {w2.data, w2.dtype, kBranches * Dm_, C};
      y.decay = t.vec(a + "time_decay", {1, 1, c});
      y.decay_w1 = t.mat(a + "time_decay_w1", C, Dd_);
      y.decay_w2 = t.mat(a + "time_decay_w2", Dd_, C);
      y.u = t.vec(a + "time_faaaa", {H, N});
      y.R = t.mat(a + "receptance.weight", C, C);
      y.K = t.mat(a + "key.weight", C, C);
      y.V = t.mat(a + "value.weight", C, C);
      y.G = t.mat(a + "gate.weight", C, C);
      y.O = t.mat(a + "output.weight", C, C);
      y.lnx_w = t.vec(a + "ln_x.weight", {c});
      y.lnx_b = t.vec(a + "ln_x.bias", {c});
      y.fmaa_k = t.vec(f + "time_maa_k", {1, 1, c});
      y.fmaa_r = t.vec(f + "time_maa_r", {1, 1, c});
      y.fK = t.mat(f + "key.weight", F, C);
      y.fR = t.mat(f + "receptance.weight", C, C);
      y.fV = t.mat(f + "value.weight", C, F);
    }
  }

  void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                   const Cancel& cancel) const override {
    const int C = cfg_.n_embd, V = cfg_.vocab, L = cfg_.n_layer;
    const size_t HNN = size_t(cfg_.n_head) * cfg_.head_size * cfg_.head_size;
    if (T <= 0) throw RwkvError("forward_seq: the token sequence is empty");
    check_tokens(tokens, T, "forward_seq");
    // Long prompts run in blocks: the carried state makes this exact and bounds activation memory.
    const int block = std::min(T, kSeqBlock);
    std::vector<float> x(size_t(block) * C);
    for (int s = 0; s < T; s += block) {
      const int n = std::min(block, T - s);
      Acts act(1, n, C, cfg_.dim_ffn, Dm_, Dd_, shape(1, n), false);
      embed(tokens + s, n, x.data());
      for (int l = 0; l < L; ++l) {
        check_cancel(cancel);
        time_mix(l, 1, n, x.data(), state.att_x + size_t(l) * C, state.wkv + l * HNN, act, false);
        channel_mix(l, 1, n, x.data(), state.ffn_x + size_t(l) * C, act);
      }
      if (logits && mode == LogitsMode::All) head_logits(n, C, x.data(), head_, logits + size_t(s) * V);
      if (logits && mode == LogitsMode::Last && s + n == T) head_logits(1, C, x.data() + size_t(n - 1) * C, head_, logits);
    }
  }

  void forward_rnn(int32_t token, StateRef state, float* logits) const override {
    // One token is a sequence of length 1: the same recurrence, with the state carried.
    forward_seq(&token, 1, state, logits, logits ? LogitsMode::Last : LogitsMode::None, Cancel{});
  }

  LossResult loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                           float* grad_s0, const LossOptions& opt, const Cancel& cancel) const override {
    const int C = cfg_.n_embd, L = cfg_.n_layer;
    if (B <= 0 || T <= 0) throw RwkvError("loss_and_grad: batch and T must be positive");
    const int M = B * T;
    check_tokens(inputs, M, "loss_and_grad inputs");
    const size_t MC = size_t(M) * C, HNN = size_t(cfg_.n_head) * cfg_.head_size * cfg_.head_size;
    const Wkv6Shape ws = shape(B, T);
    const int F = cfg_.dim_ffn;
    // Layers from the top down keep their forward activations while they fit the cache budget;
    // the others share one scratch and are recomputed in the backward (bit-identical results).
    std::deque<Acts> pool;
    pool.emplace_back(B, T, C, F, Dm_, Dd_, ws, true);
    const int keep = int(std::min<size_t>(L, activation_cache_bytes() / pool.front().bytes()));
    std::vector<Acts*> kept(L, nullptr);
    for (int l = L - 1; l >= L - keep; --l) kept[l] = l == L - 1 ? &pool.front() : &pool.emplace_back(B, T, C, F, Dm_, Dd_, ws, true);
    Acts* scratch = keep == L ? nullptr : keep == 0 ? &pool.front() : &pool.emplace_back(B, T, C, F, Dm_, Dd_, ws, true);

    std::vector<float> xs(size_t(L + 1) * MC);  // the input of every layer, and the final output
    std::vector<float> st(B * HNN);
    auto start_state = [&](int l) { for (int b = 0; b < B; ++b) std::memcpy(&st[b * HNN], s0 + l * HNN, HNN * sizeof(float)); };

    embed(inputs, M, xs.data());
    for (int l = 0; l < L; ++l) {
      check_cancel(cancel);
      float* x = xs.data() + (l + 1) * MC;
      std::memcpy(x, x - MC, MC * sizeof(float));
      start_state(l);
      Acts& a = kept[l] ? *kept[l] : *scratch;
      time_mix(l, B, T, x, nullptr, st.data(), a, kept[l] != nullptr);
      channel_mix(l, B, T, x, nullptr, a);
    }

    const long n_targets = count_targets(M, targets);
    HeadLossScale scale;
    scale.ce_grad_scale = n_targets ? 1.f / float(n_targets) : 0.f;
    scale.l2wrap_scale = opt.l2wrap ? 1e-4f / float(M) : 0.f;
    std::vector<float> dx(MC), xl(keep == L ? 0 : MC);
    const HeadLossSum loss = head_loss(M, C, xs.data() + L * MC, head_, targets, scale, dx.data(), cancel);

    Grads g(M, C, F, Dm_, Dd_, B * HNN);
    for (int l = L - 1; l >= 0; --l) {
      check_cancel(cancel);
      const float* x_in = xs.data() + l * MC;
      Acts* a = kept[l];
      if (!a) {
        a = scratch;
        std::memcpy(xl.data(), x_in, MC * sizeof(float));
        start_state(l);
        time_mix(l, B, T, xl.data(), nullptr, st.data(), *a, true);
        channel_mix(l, B, T, xl.data(), nullptr, *a);
      }
      backward(l, B, T, x_in, *a, dx.data(), g, /*need_dx=*/l > 0);
      float* gs = grad_s0 + l * HNN;
      std::fill(gs, gs + HNN, 0.f);
      for (int b = 0; b < B; ++b)
        for (size_t i = 0; i < HNN; ++i) gs[i] += g.dstate[b * HNN + i];
    }
    return {loss.ce_sum, loss.n_targets};
  }

 private:
  static constexpr int kSeqBlock = 256;

  // Gradient scratch for one layer's backward.
  struct Grads {
    std::vector<float> a, b, c, d, e, f, dF, dm1, ddech, dy, dr, dk, dv, dw, dstate;
    Grads(int M, int C, int F, int Dm, int Dd, size_t state_floats) {
      const size_t MC = size_t(M) * C;
      for (auto* v : {&a, &b, &c, &d, &e, &f, &dy, &dr, &dk, &dv, &dw}) v->resize(MC);
      dF.resize(size_t(M) * F);
      dm1.resize(size_t(M) * kBranches * Dm);
      ddech.resize(size_t(M) * Dd);
      dstate.resize(state_floats);
    }
  };

  Wkv6Shape shape(int B, int T) const {
    Wkv6Shape s;
    s.B = B; s.T = T; s.H = cfg_.n_head; s.N = cfg_.head_size;
    return s;
  }

  void check_tokens(const int32_t* tok, long n, const char* what) const {
    for (long i = 0; i < n; ++i)
      if (tok[i] < 0 || tok[i] >= cfg_.vocab)
        throw RwkvError(std::string(what) + ": token id " + std::to_string(tok[i]) + " at position " + std::to_string(i) +
                        " is outside the vocabulary [0, " + std::to_string(cfg_.vocab) + ")");
  }

  // x[m] = ln0(emb[tokens[m]]), in fp32 whatever the embedding's dtype.
  void embed(const int32_t* tokens, int M, float* x) const {
    const int C = cfg_.n_embd;
    per_row(M, [&](size_t m) {
      const int64_t base = int64_t(tokens[m]) * C;
      for (int c = 0; c < C; ++c) x[m * C + c] = emb_.at(base + c);
    });
    layer_norm(M, C, x, ln0_w_.data(), ln0_b_.data(), x);
  }

  // x += TimeMix(ln1(x)) for B sequences of T rows. att_prev: carried shift state [B,C] (updated)
  // or null for zeros; wkv: [B,H,N,N] in/out. Fills `a` (with wkv checkpoints when keep_ckpt).
  void time_mix(int l, int B, int T, float* x, float* att_prev, float* wkv, Acts& a, bool keep_ckpt) const {
    const Layer& y = layers_[l];
    const int M = B * T, C = cfg_.n_embd, D5 = kBranches * Dm_;
    const size_t MC = size_t(M) * C;
    layer_norm(M, C, x, y.ln1_w.data(), y.ln1_b.data(), a.xa.data());
    shift_delta(B, T, C, a.xa.data(), att_prev, a.dlt.data());
    if (att_prev) keep_last_rows(B, T, C, a.xa.data(), att_prev);

    // Data-dependent mixing: m = tanh((xa + d⊙maa_x)·w1), per branch mix_i = maa_i + m_i·w2_i.
    per_row(M, [&](size_t m) {
      const float *xa = &a.xa[m * C], *d = &a.dlt[m * C];
      float* xi = &a.xi[m * C];
      for (int c = 0; c < C; ++c) xi[c] = xa[c] + d[c] * y.maa_x[c];
    });
    mul(M, a.xi.data(), C, y.maa_w1, false, a.m1.data(), D5);
    per_row(M, [&](size_t m) { for (int j = 0; j < D5; ++j) a.m1[m * D5 + j] = vmath::tanh(a.m1[m * D5 + j]); });
    for (int i = 0; i < kBranches; ++i) {
      float* mix = &a.mix[i * MC];
      mul(M, a.m1.data() + i * Dm_, D5, y.maa_w2.rows_slice(i * Dm_, Dm_), false, mix, C);
      per_row(M, [&](size_t m) {
        const float *xa = &a.xa[m * C], *d = &a.dlt[m * C];
        float *mx = mix + m * C, *xi = &a.xi[m * C];
        for (int c = 0; c < C; ++c) { mx[c] += y.maa[i][c]; xi[c] = xa[c] + d[c] * mx[c]; }
      });
      switch (i) {
        case kW:
          mul(M, a.xi.data(), C, y.decay_w1, false, a.dech.data(), Dd_);
          per_row(M, [&](size_t m) { for (int j = 0; j < Dd_; ++j) a.dech[m * Dd_ + j] = vmath::tanh(a.dech[m * Dd_ + j]); });
          mul(M, a.dech.data(), Dd_, y.decay_w2, false, a.wl.data(), C);
          per_row(M, [&](size_t m) {
            for (int c = 0; c < C; ++c) {
              const float wl = a.wl[m * C + c] + y.decay[c];
              a.wl[m * C + c] = wl;
              const float e = vmath::exp(wl);  // exact 0 past fp32 range (vmath::exp saturates)
              a.w[m * C + c] = e > 87.f ? 0.f : vmath::exp(-e);
            }
          });
          break;
        case kK: mul(M, a.xi.data(), C, y.K, true, a.k.data(), C); break;
        case kV: mul(M, a.xi.data(), C, y.V, true, a.v.data(), C); break;
        case kR: mul(M, a.xi.data(), C, y.R, true, a.r.data(), C); break;
        case kG: mul(M, a.xi.data(), C, y.G, true, a.gpre.data(), C); break;
      }
    }

    wkv6_forward(shape(B, T), a.r.data(), a.k.data(), a.v.data(), a.w.data(), y.u.data(), wkv, a.y.data(),
                 keep_ckpt ? a.ckpt.data() : nullptr);
    group_norm(M, cfg_.n_head, cfg_.head_size, a.y.data(), y.lnx_w.data(), y.lnx_b.data(), a.yn.data());
    per_row(M, [&](size_t m) {
      for (size_t i = m * C; i < (m + 1) * C; ++i) a.xi[i] = a.yn[i] * a.gpre[i] * vmath::sigmoid(a.gpre[i]);
    });
    mul(M, a.xi.data(), C, y.O, true, x, C, 1.f);  // residual add
    std::memcpy(a.xmid.data(), x, MC * sizeof(float));
  }

  // x += ChannelMix(ln2(x)) = σ(x_r·Rᵀ) ⊙ (relu(x_k·Kᵀ)²·Vᵀ).
  void channel_mix(int l, int B, int T, float* x, float* ffn_prev, Acts& a) const {
    const Layer& y = layers_[l];
    const int M = B * T, C = cfg_.n_embd, F = cfg_.dim_ffn;
    layer_norm(M, C, x, y.ln2_w.data(), y.ln2_b.data(), a.xf.data());
    shift_delta(B, T, C, a.xf.data(), ffn_prev, a.fdl.data());
    if (ffn_prev) keep_last_rows(B, T, C, a.xf.data(), ffn_prev);
    auto mix_into_xi = [&](const std::vector<float>& mu) {
      per_row(M, [&](size_t m) { for (int c = 0; c < C; ++c) a.xi[m * C + c] = a.xf[m * C + c] + a.fdl[m * C + c] * mu[c]; });
    };
    mix_into_xi(y.fmaa_k);
    mul(M, a.xi.data(), C, y.fK, true, a.kr.data(), F);
    mix_into_xi(y.fmaa_r);
    mul(M, a.xi.data(), C, y.fR, true, a.rr.data(), C);
    per_row(M, [&](size_t m) {
      for (size_t i = m * F; i < (m + 1) * F; ++i) { const float r = std::max(a.kr[i], 0.f); a.kr[i] = r; a.kk[i] = r * r; }
      for (size_t i = m * C; i < (m + 1) * C; ++i) a.rr[i] = vmath::sigmoid(a.rr[i]);
    });
    mul(M, a.kk.data(), F, y.fV, true, a.vv.data(), C);
    per_row(M, [&](size_t m) { for (size_t i = m * C; i < (m + 1) * C; ++i) x[i] += a.rr[i] * a.vv[i]; });
  }

  // dx: on entry ∂L/∂(layer output), on exit ∂L/∂(layer input) (only when need_dx). Writes
  // g.dstate = ∂L/∂s0 per sequence. `a` holds this layer's recomputed activations.
  void backward(int l, int B, int T, const float* x_in, const Acts& a, float* dx, Grads& g, bool need_dx) const {
    const Layer& y = layers_[l];
    const int M = B * T, C = cfg_.n_embd, F = cfg_.dim_ffn, D5 = kBranches * Dm_;
    const size_t MC = size_t(M) * C;

    // ChannelMix: out = rr ⊙ vv.
    per_row(M, [&](size_t m) {
      for (size_t i = m * C; i < (m + 1) * C; ++i) {
        g.a[i] = dx[i] * a.vv[i] * a.rr[i] * (1.f - a.rr[i]);  // ∂/∂(x_r·Rᵀ)
        g.b[i] = dx[i] * a.rr[i];                             // ∂/∂vv
      }
    });
    mul(M, g.b.data(), C, y.fV, false, g.dF.data(), F);
    per_row(M, [&](size_t m) { for (size_t i = m * F; i < (m + 1) * F; ++i) g.dF[i] *= 2.f * a.kr[i]; });
    mul(M, g.dF.data(), F, y.fK, false, g.c.data(), C);  // ∂/∂x_k
    mul(M, g.a.data(), C, y.fR, false, g.d.data(), C);   // ∂/∂x_r
    per_row(M, [&](size_t m) {
      for (int c = 0; c < C; ++c) {
        const size_t i = m * C + c;
        g.e[i] = g.c[i] + g.d[i];                                // ∂/∂xf, direct
        g.f[i] = g.c[i] * y.fmaa_k[c] + g.d[i] * y.fmaa_r[c];    // ∂/∂(shift delta)
      }
    });
    shift_delta_backward(B, T, C, g.f.data(), g.e.data());
    layer_norm_backward(M, C, a.xmid.data(), y.ln2_w.data(), g.e.data(), dx, true);

    // TimeMix output: dx → ∂/∂(yn ⊙ silu(gpre)).
    mul(M, dx, C, y.O, false, g.a.data(), C);
    per_row(M, [&](size_t m) {
      for (size_t i = m * C; i < (m + 1) * C; ++i) {
        const float s = vmath::sigmoid(a.gpre[i]), gp = a.gpre[i];
        g.b[i] = g.a[i] * gp * s;                                    // ∂/∂yn
        g.c[i] = g.a[i] * a.yn[i] * s * (1.f + gp * (1.f - s));      // ∂/∂gpre (silu')
      }
    });
    group_norm_backward(M, cfg_.n_head, cfg_.head_size, a.y.data(), y.lnx_w.data(), g.b.data(), g.dy.data(), false);
    std::fill(g.dstate.begin(), g.dstate.end(), 0.f);
    wkv6_backward(shape(B, T), a.r.data(), a.k.data(), a.v.data(), a.w.data(), y.u.data(), a.ckpt.data(), g.dy.data(),
                  g.dstate.data(), need_dx ? g.dr.data() : nullptr, need_dx ? g.dk.data() : nullptr,
                  need_dx ? g.dv.data() : nullptr, need_dx ? g.dw.data() : nullptr, nullptr);
    if (!need_dx) return;

    // Back through the five mixed inputs x_i = xa + d ⊙ mix_i, collecting ∂/∂xa in g.d and ∂/∂d in g.e.
    std::fill(g.d.begin(), g.d.end(), 0.f);
    std::fill(g.e.begin(), g.e.end(), 0.f);
    for (int i = 0; i < kBranches; ++i) {
      float* dxi = g.f.data();
      switch (i) {
        case kW:
          per_row(M, [&](size_t m) {  // ŵ → decay = exp(−exp(ŵ)): dŵ = dw·decay·(−exp(ŵ))
            // A decay that underflowed to 0 has zero slope (and exp(ŵ) may be inf: avoid 0·inf).
            for (size_t j = m * C; j < (m + 1) * C; ++j) g.dw[j] *= a.w[j] == 0.f ? 0.f : -a.w[j] * vmath::exp(a.wl[j]);
          });
          mul(M, g.dw.data(), C, y.decay_w2, true, g.ddech.data(), Dd_);
          per_row(M, [&](size_t m) {
            for (size_t j = m * Dd_; j < (m + 1) * Dd_; ++j) g.ddech[j] *= 1.f - a.dech[j] * a.dech[j];
          });
          mul(M, g.ddech.data(), Dd_, y.decay_w1, true, dxi, C);
          break;
        case kK: mul(M, g.dk.data(), C, y.K, false, dxi, C); break;
        case kV: mul(M, g.dv.data(), C, y.V, false, dxi, C); break;
        case kR: mul(M, g.dr.data(), C, y.R, false, dxi, C); break;
        case kG: mul(M, g.c.data(), C, y.G, false, dxi, C); break;
      }
      const float* mix = &a.mix[i * MC];
      per_row(M, [&](size_t m) {
        for (size_t j = m * C; j < (m + 1) * C; ++j) {
          g.d[j] += dxi[j];
          g.e[j] += dxi[j] * mix[j];
          dxi[j] *= a.dlt[j];  // now ∂/∂mix_i = ∂/∂(m_i·w2_i)
        }
      });
      mul(M, dxi, C, y.maa_w2.rows_slice(i * Dm_, Dm_), true, g.dm1.data() + i * Dm_, D5);
    }
    per_row(M, [&](size_t m) {
      for (size_t j = m * D5; j < (m + 1) * D5; ++j) g.dm1[j] *= 1.f - a.m1[j] * a.m1[j];
    });
    mul(M, g.dm1.data(), D5, y.maa_w1, true, g.f.data(), C);  // ∂/∂(xa + d⊙maa_x)
    per_row(M, [&](size_t m) {
      for (int c = 0; c < C; ++c) {
        const size_t j = m * C + c;
        g.d[j] += g.f[j];
        g.e[j] += g.f[j] * y.maa_x[c];
      }
    });
    shift_delta_backward(B, T, C, g.e.data(), g.d.data());
    layer_norm_backward(M, C, x_in, y.ln1_w.data(), g.d.data(), dx, true);
  }

  std::vector<Layer> layers_;
  TensorView emb_;
  std::vector<float> ln0_w_, ln0_b_, lnout_w_, lnout_b_;
  HeadWeights head_;
  int Dm_ = 0, Dd_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_model_v6(const Config& cfg, const TensorMap& tensors) {
  return std::make_unique<Rwkv6>(cfg, tensors);
}

}  // namespace rwkv

// RWKV-7 ("x070") on the CPU: weights validated and viewed from a TensorMap (no copies of the big
// matrices), sequence mode with the per-token work batched as GEMMs over the rows, RNN mode as the
// one-row case of the same code, and state tuning (forward keeping per-layer activations, then a
// hand-written input-gradient backward down to every layer's initial wkv state). Spec §1.3, §3.4.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/head.h"
#include "cpu/cpu_model.h"
#include "cpu/norm.h"
#include "cpu/threadpool.h"
#include "cpu/vmath.h"
#include "cpu/wkv7.h"

namespace rwkv {
namespace {

using Buf = std::vector<float>;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

// Looks tensors up by name and checks their shapes, naming the key and both shapes on a mismatch.
class Loader {
 public:
  explicit Loader(const TensorMap& t) : t_(t) {}
  bool has(const std::string& name) const { return t_.count(name) != 0; }
  const TensorView& get(const std::string& name) const {
    auto it = t_.find(name);
    if (it == t_.end()) throw RwkvError("RWKV-7 checkpoint: missing tensor " + name);
    return it->second;
  }
  const TensorView& matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const TensorView& v = get(name);
    if (v.shape != std::vector<int64_t>{rows, cols}) mismatch(name, v.shape, {rows, cols});
    return v;
  }
  // A per-channel vector: stored [C] or with leading singleton dims ([1,1,C]); copied to fp32.
  Buf vec(const std::string& name, int64_t n) const {
    const TensorView& v = get(name);
    bool ok = !v.shape.empty() && v.shape.back() == n && v.numel() == n;
    if (!ok) mismatch(name, v.shape, {1, 1, n});
    return v.to_f32();
  }
  Buf exact(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorView& v = get(name);
    if (v.shape != shape) mismatch(name, v.shape, shape);
    return v.to_f32();
  }

 private:
  [[noreturn]] static void mismatch(const std::string& name, const std::vector<int64_t>& got,
                                    const std::vector<int64_t>& want) {
    throw RwkvError("RWKV-7 checkpoint: tensor " + name + " has shape " + shape_str(got) + ", expected " +
                    shape_str(want));
  }
  const TensorMap& t_;
};

struct Layer {
  Buf ln1_w, ln1_b, ln2_w, ln2_b;
  Buf mu_r, mu_w, mu_k, mu_v, mu_a, mu_g, w0, a0, v0, k_k, k_a, r_k, lnx_w, lnx_b, mu_ffn;
  TensorView w1, w2, a1, a2, v1, v2, g1, g2, R, K, V, O, fK, fV;
  bool value_residual = false;  // layers ≥ 1
};

// What one layer's forward keeps for its backward (all [M, width] row-major, M = B·T).
struct Acts {
  Buf x_in, xa, r, k0, v_pre, k, v, kh, knorm, what, z, hw, alpha, gg, g, nu, y, u, beta, x2, xf, hpre;
};

using vmath::sigmoid;

// Row kernels with __restrict parameters so their loops vectorise (GCC honours restrict on
// function parameters).
// z ← z + w0;  ŵ = −softplus(−z) − 0.5 (the decay soft clamp, spec §1.3 step 7).
inline void decay_input(int C, float* __restrict z, const float* __restrict w0, float* __restrict w_hat) {
  for (int c = 0; c < C; ++c) {
    z[c] += w0[c];
    w_hat[c] = -vmath::softplus(-z[c]) - 0.5f;
  }
}
// x ← σ(x + bias)
inline void bias_sigmoid(int C, float* __restrict x, const float* __restrict bias) {
  for (int c = 0; c < C; ++c) x[c] = sigmoid(x[c] + bias[c]);
}

// out[t] = x[t] + (prev[t] − x[t])·μ with prev[t] = x[t−1] inside each of the B sequences and
// prev[0] = x0[b] (nullptr = zeros: training and a fresh state).
void shift_mix(int B, int T, int C, const float* x, const float* x0, const float* mu, float* out) {
  parallel_for(long(B) * T, [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m) {
      const long b = m / T, t = m % T;
      const float* cur = x + m * C;
      const float* prev = t > 0 ? cur - C : (x0 ? x0 + b * C : nullptr);
      float* o = out + m * C;
      for (int c = 0; c < C; ++c) o[c] = cur[c] + ((prev ? prev[c] : 0.f) - cur[c]) * mu[c];
    }
  }, 8);
}

// dx += ∂/∂x of Σ out·dout for shift_mix (the gradient into prev[0] is dropped: shift states are
// not trained).
void shift_mix_backward(int B, int T, int C, const float* dout, const float* mu, float* dx) {
  parallel_for(long(B) * T, [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m) {
      const long t = m % T;
      const float* d = dout + m * C;
      const float* next = t + 1 < T ? d + C : nullptr;
      float* o = dx + m * C;
      for (int c = 0; c < C; ++c) o[c] += d[c] * (1.f - mu[c]) + (next ? next[c] * mu[c] : 0.f);
    }
  }, 8);
}

template <typename F>
void for_rows(long M, F&& fn) {
  parallel_for(M, [&](long m0, long m1) { for (long m = m0; m < m1; ++m) fn(m); }, 8);
}

// x[i] ← f(x[i]) (or f(x[i], i)) over a whole buffer, in parallel.
template <typename F>
void map_inplace(Buf& x, F&& f) {
  parallel_for(long(x.size()), [&](long b, long e) { for (long i = b; i < e; ++i) x[i] = f(x[i], i); }, 4096);
}

class Rwkv7 final : public Model {
 public:
  Rwkv7(const Config& cfg, const TensorMap& tensors) {
    cfg_ = cfg;
    load(Loader(tensors));
  }

  void forward_seq(const int32_t* tokens, int T, StateRef state, float* logits, LogitsMode mode,
                   const Cancel& cancel) const override {
    const int C = cfg_.n_embd, V = cfg_.vocab;
    for (int t0 = 0; t0 < T; t0 += kSeqChunk) {
      const int n = std::min(kSeqChunk, T - t0);
      Buf x = run_chunk(tokens + t0, n, state, cancel);
      if (mode == LogitsMode::All) head_logits(n, C, x.data(), head_, logits + size_t(t0) * V);
      else if (mode == LogitsMode::Last && t0 + n == T) head_logits(1, C, x.data() + size_t(n - 1) * C, head_, logits);
    }
  }

  void forward_rnn(int32_t token, StateRef state, float* logits) const override {
    Buf x = run_chunk(&token, 1, state, Cancel{});
    if (logits) head_logits(1, cfg_.n_embd, x.data(), head_, logits);
  }

  LossResult loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                           float* grad_s0, const LossOptions& opt, const Cancel& cancel) const override;

 private:
  static constexpr int kSeqChunk = 256;  // inference rows per pass: bounds activation memory for long prompts

  int C() const { return cfg_.n_embd; }
  int H() const { return cfg_.n_head; }
  int N() const { return cfg_.head_size; }
  long NN() const { return long(N()) * N(); }

  void load(const Loader& ld);
  void embed(const int32_t* tokens, long M, float* x) const;
  Buf run_chunk(const int32_t* tokens, int T, StateRef state, const Cancel& cancel) const;
  void layer_forward(int l, int B, int T, float* x, float* vfirst, const float* att_prev, float* wkv,
                     const float* ffn_prev, Acts& A) const;
  void layer_backward(int l, int B, int T, const Acts& A, const float* vfirst, const float* s0b, float* dx,
                      float* dvfirst, float* ds0b) const;

  TensorView emb_;
  Buf ln0_w_, ln0_b_, lnout_w_, lnout_b_;
  HeadWeights head_;
  std::vector<Layer> layers_;
  int Dw_ = 0, Da_ = 0, Dv_ = 0, Dg_ = 0;
};

void Rwkv7::load(const Loader& ld) {
  const Config& c = cfg_;
  if (c.n_layer <= 0 || c.n_embd <= 0 || c.head_size <= 0 || c.vocab <= 0 || c.dim_ffn <= 0 ||
      c.n_head * c.head_size != c.n_embd)
    throw RwkvError("RWKV-7 config: need positive nLayer, nEmbd, vocab, dimFfn and nHead·headSize = nEmbd (got " +
                    std::to_string(c.n_head) + "·" + std::to_string(c.head_size) + " vs " + std::to_string(c.n_embd) + ")");
  const int64_t C = c.n_embd, V = c.vocab, F = c.dim_ffn;
  emb_ = ld.matrix("emb.weight", V, C);
  ln0_w_ = ld.vec("blocks.0.ln0.weight", C); ln0_b_ = ld.vec("blocks.0.ln0.bias", C);
  lnout_w_ = ld.vec("ln_out.weight", C); lnout_b_ = ld.vec("ln_out.bias", C);
  head_ = {lnout_w_.data(), lnout_b_.data(), ld.matrix("head.weight", V, C)};
  auto width = [&](const std::string& name) {
    const TensorView& t = ld.get(name);
    if (t.shape.size() != 2 || t.shape[0] != C)
      throw RwkvError("RWKV-7 checkpoint: tensor " + name + " has shape " + shape_str(t.shape) + ", expected [" +
                      std::to_string(C) + ", D]");
    return int(t.shape[1]);
  };
  Dw_ = width("blocks.0.att.w1"); Da_ = width("blocks.0.att.a1"); Dg_ = width("blocks.0.att.g1");
  Dv_ = c.n_layer > 1 ? width("blocks.1.att.v1") : 0;
  layers_.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[l];
    const std::string p = "blocks." + std::to_string(l) + ".";
    const std::string a = p + "att.";
    L.ln1_w = ld.vec(p + "ln1.weight", C); L.ln1_b = ld.vec(p + "ln1.bias", C);
    L.ln2_w = ld.vec(p + "ln2.weight", C); L.ln2_b = ld.vec(p + "ln2.bias", C);
    L.mu_r = ld.vec(a + "x_r", C); L.mu_w = ld.vec(a + "x_w", C); L.mu_k = ld.vec(a + "x_k", C);
    L.mu_v = ld.vec(a + "x_v", C); L.mu_a = ld.vec(a + "x_a", C); L.mu_g = ld.vec(a + "x_g", C);
    L.w0 = ld.vec(a + "w0", C); L.a0 = ld.vec(a + "a0", C);
    L.k_k = ld.vec(a + "k_k", C); L.k_a = ld.vec(a + "k_a", C);
    L.r_k = ld.exact(a + "r_k", {c.n_head, c.head_size});
    L.w1 = ld.matrix(a + "w1", C, Dw_); L.w2 = ld.matrix(a + "w2", Dw_, C);
    L.a1 = ld.matrix(a + "a1", C, Da_); L.a2 = ld.matrix(a + "a2", Da_, C);
    L.g1 = ld.matrix(a + "g1", C, Dg_); L.g2 = ld.matrix(a + "g2", Dg_, C);
    L.value_residual = l > 0;  // layer 0's v0/v1/v2, when a file has them, are unused
    if (L.value_residual) {
      L.v0 = ld.vec(a + "v0", C);
      L.v1 = ld.matrix(a + "v1", C, Dv_); L.v2 = ld.matrix(a + "v2", Dv_, C);
    }
    L.R = ld.matrix(a + "receptance.weight", C, C); L.K = ld.matrix(a + "key.weight", C, C);
    L.V = ld.matrix(a + "value.weight", C, C); L.O = ld.matrix(a + "output.weight", C, C);
    L.lnx_w = ld.vec(a + "ln_x.weight", C); L.lnx_b = ld.vec(a + "ln_x.bias", C);
    L.mu_ffn = ld.vec(p + "ffn.x_k", C);
    L.fK = ld.matrix(p + "ffn.key.weight", F, C); L.fV = ld.matrix(p + "ffn.value.weight", C, F);
  }
}

void Rwkv7::embed(const int32_t* tokens, long M, float* x) const {
  const int C = this->C();
  for (long m = 0; m < M; ++m) {
    if (tokens[m] < 0 || tokens[m] >= cfg_.vocab)
      throw RwkvError("token " + std::to_string(tokens[m]) + " at position " + std::to_string(m) +
                      " is outside the vocabulary [0, " + std::to_string(cfg_.vocab) + ")");
    const long row = long(tokens[m]) * C;
    for (int c = 0; c < C; ++c) x[m * C + c] = emb_.at(row + c);
  }
  layer_norm(int(M), C, x, ln0_w_.data(), ln0_b_.data(), x);
}

Buf Rwkv7::run_chunk(const int32_t* tokens, int T, StateRef st, const Cancel& cancel) const {
  const int C = this->C();
  Buf x(size_t(T) * C), vfirst(size_t(T) * C);
  embed(tokens, T, x.data());
  Acts A;
  for (int l = 0; l < cfg_.n_layer; ++l) {
    check_cancel(cancel);
    layer_forward(l, 1, T, x.data(), vfirst.data(), st.att_x + size_t(l) * C, st.wkv + size_t(l) * H() * NN(),
                  st.ffn_x + size_t(l) * C, A);
    std::memcpy(st.att_x + size_t(l) * C, A.xa.data() + size_t(T - 1) * C, C * sizeof(float));
    std::memcpy(st.ffn_x + size_t(l) * C, A.xf.data() + size_t(T - 1) * C, C * sizeof(float));
  }
  return x;
}

void Rwkv7::layer_forward(int l, int B, int T, float* x, float* vfirst, const float* att_prev, float* wkv,
                          const float* ffn_prev, Acts& A) const {
  const Layer& L = layers_[l];
  const int C = this->C(), H = this->H(), N = this->N(), F = cfg_.dim_ffn;
  const long M = long(B) * T, MC = M * C;
  for (Buf* b : {&A.x_in, &A.xa, &A.r, &A.k0, &A.v_pre, &A.k, &A.v, &A.kh, &A.what, &A.z, &A.alpha, &A.g,
                 &A.nu, &A.y, &A.u, &A.x2, &A.xf})
    b->resize(MC);
  A.knorm.resize(M * H); A.beta.resize(M * H);
  A.hw.resize(M * Dw_); A.gg.resize(M * Dg_); A.hpre.resize(M * F);

  std::memcpy(A.x_in.data(), x, MC * sizeof(float));
  layer_norm(int(M), C, x, L.ln1_w.data(), L.ln1_b.data(), A.xa.data());
  Buf mix(MC), lora(M * std::max({Dw_, Da_, Dv_, Dg_}));
  auto mixed = [&](const Buf& mu) { shift_mix(B, T, C, A.xa.data(), att_prev, mu.data(), mix.data()); return mix.data(); };
  const int m = int(M);
  matmul(m, mixed(L.mu_r), L.R, true, A.r.data(), 0.f);
  matmul(m, mixed(L.mu_k), L.K, true, A.k0.data(), 0.f);
  matmul(m, mixed(L.mu_v), L.V, true, A.v_pre.data(), 0.f);
  if (L.value_residual) {
    matmul(m, mix.data(), L.v1, false, lora.data(), 0.f);
    matmul(m, lora.data(), L.v2, false, A.nu.data(), 0.f);
  }
  matmul(m, mixed(L.mu_w), L.w1, false, A.hw.data(), 0.f);
  map_inplace(A.hw, [](float h, long) { return vmath::tanh(h); });
  matmul(m, A.hw.data(), L.w2, false, A.z.data(), 0.f);
  matmul(m, mixed(L.mu_a), L.a1, false, lora.data(), 0.f);
  matmul(m, lora.data(), L.a2, false, A.alpha.data(), 0.f);
  matmul(m, mixed(L.mu_g), L.g1, false, A.gg.data(), 0.f);
  map_inplace(A.gg, [](float g, long) { return sigmoid(g); });
  matmul(m, A.gg.data(), L.g2, false, A.g.data(), 0.f);

  Buf a_op(MC), b_op(MC);
  for_rows(M, [&](long r) {
    const long o = r * C;
    decay_input(C, A.z.data() + o, L.w0.data(), A.what.data() + o);
    bias_sigmoid(C, A.alpha.data() + o, L.a0.data());
    if (L.value_residual) bias_sigmoid(C, A.nu.data() + o, L.v0.data());
    for (int c = 0; c < C; ++c) {
      if (l == 0) {
        vfirst[o + c] = A.v_pre[o + c];
        A.v[o + c] = A.v_pre[o + c];
      } else {
        const float nu = A.nu[o + c];
        A.v[o + c] = A.v_pre[o + c] + (vfirst[o + c] - A.v_pre[o + c]) * nu;
      }
      A.k[o + c] = A.k0[o + c] * (1.f + (A.alpha[o + c] - 1.f) * L.k_a[c]);
    }
    for (int h = 0; h < H; ++h) {
      const long oh = o + long(h) * N;
      float ss = 0.f;
      for (int i = 0; i < N; ++i) { const float q = A.k0[oh + i] * L.k_k[h * N + i]; ss += q * q; }
      const float nrm = std::max(std::sqrt(ss), 1e-12f);
      A.knorm[r * H + h] = nrm;
      for (int i = 0; i < N; ++i) {
        const float kh = A.k0[oh + i] * L.k_k[h * N + i] / nrm;
        A.kh[oh + i] = kh;
        a_op[oh + i] = -kh;
        b_op[oh + i] = kh * A.alpha[oh + i];
      }
    }
  });

  wkv7_forward(B, T, H, N, {A.r.data(), A.what.data(), A.k.data(), A.v.data(), a_op.data(), b_op.data()}, wkv,
               A.y.data());

  Buf& ug = a_op;  // reuse: a_op/b_op are not needed any more
  group_norm(m, H, N, A.y.data(), L.lnx_w.data(), L.lnx_b.data(), A.u.data());
  for_rows(M, [&](long r) {
    for (int h = 0; h < H; ++h) {
      const long oh = r * C + long(h) * N;
      float beta = 0.f;
      for (int i = 0; i < N; ++i) beta += A.r[oh + i] * A.k[oh + i] * L.r_k[h * N + i];
      A.beta[r * H + h] = beta;
      for (int i = 0; i < N; ++i) {
        A.u[oh + i] += beta * A.v[oh + i];
        ug[oh + i] = A.u[oh + i] * A.g[oh + i];
      }
    }
  });
  matmul(m, ug.data(), L.O, true, x, 1.f);
  std::memcpy(A.x2.data(), x, MC * sizeof(float));

  layer_norm(m, C, x, L.ln2_w.data(), L.ln2_b.data(), A.xf.data());
  shift_mix(B, T, C, A.xf.data(), ffn_prev, L.mu_ffn.data(), mix.data());
  matmul(m, mix.data(), L.fK, true, A.hpre.data(), 0.f);
  Buf hid(A.hpre);
  map_inplace(hid, [](float h, long) { const float q = vmath::relu(h); return q * q; });
  matmul(m, hid.data(), L.fV, true, x, 1.f);
}

// dx: in = ∂L/∂(layer output), out = ∂L/∂(layer input). dvfirst accumulates ∂L/∂v_first from the
// layers ≥ 1 and is consumed by layer 0. ds0b [B,H,N,N] receives ∂L/∂(initial wkv) per sequence.
void Rwkv7::layer_backward(int l, int B, int T, const Acts& A, const float* vfirst, const float* s0b, float* dx,
                           float* dvfirst, float* ds0b) const {
  const Layer& L = layers_[l];
  const int C = this->C(), H = this->H(), N = this->N(), F = cfg_.dim_ffn;
  const long M = long(B) * T, MC = M * C;
  const int m = int(M);

  // Channel mix.
  Buf dh(M * F), d1(MC), d2(MC, 0.f);
  matmul(m, dx, L.fV, false, dh.data(), 0.f);
  map_inplace(dh, [&](float d, long i) { return d * 2.f * vmath::relu(A.hpre[i]); });
  matmul(m, dh.data(), L.fK, false, d1.data(), 0.f);
  shift_mix_backward(B, T, C, d1.data(), L.mu_ffn.data(), d2.data());
  layer_norm_backward(m, C, A.x2.data(), L.ln2_w.data(), d2.data(), dx, true);

  // Output, gate, bonus.
  Buf dug(MC), dg(MC), dr(MC), dk(MC), dv(MC), dy(MC);
  matmul(m, dx, L.O, false, dug.data(), 0.f);
  for_rows(M, [&](long r) {
    for (int h = 0; h < H; ++h) {
      const long oh = r * C + long(h) * N;
      float dbeta = 0.f;
      const float beta = A.beta[r * H + h];
      for (int i = 0; i < N; ++i) {
        const float du = dug[oh + i] * A.g[oh + i];
        dg[oh + i] = dug[oh + i] * A.u[oh + i];
        dy[oh + i] = du;  // ∂L/∂(GroupNorm output) for now
        dbeta += du * A.v[oh + i];
        dv[oh + i] = du * beta;
      }
      for (int i = 0; i < N; ++i) {
        dr[oh + i] = dbeta * A.k[oh + i] * L.r_k[h * N + i];
        dk[oh + i] = dbeta * A.r[oh + i] * L.r_k[h * N + i];
      }
    }
  });
  group_norm_backward(m, H, N, A.y.data(), L.lnx_w.data(), dy.data(), dug.data(), false);  // dug ← ∂L/∂y

  // WKV.
  Buf a_op(MC), b_op(MC);
  map_inplace(a_op, [&](float, long i) { return -A.kh[i]; });
  map_inplace(b_op, [&](float, long i) { return A.kh[i] * A.alpha[i]; });
  Buf wr(MC), ww(MC), wk(MC), wv(MC), wa(MC), wb(MC);
  wkv7_backward(B, T, H, N, {A.r.data(), A.what.data(), A.k.data(), A.v.data(), a_op.data(), b_op.data()}, s0b,
                dug.data(), nullptr, {wr.data(), ww.data(), wk.data(), wv.data(), wa.data(), wb.data()}, ds0b);

  // Back through the kernel operands to the projections. Reuses: a_op → dk0, b_op → dalpha,
  // ww → dz and wa → dκ̂ (in place), dy → dv_pre; dv ends as ∂L/∂(ν pre-activation).
  Buf& dk0 = a_op;
  Buf& dalpha = b_op;
  Buf& dv_pre = dy;
  for_rows(M, [&](long r) {
    const long o = r * C;
    for (int c = 0; c < C; ++c) {
      dr[o + c] += wr[o + c];
      dk[o + c] += wk[o + c];
      dv[o + c] += wv[o + c];
      ww[o + c] *= sigmoid(-A.z[o + c]);  // dŵ/dz = σ(−z)
    }
    for (int h = 0; h < H; ++h) {
      const long oh = o + long(h) * N;
      float dot = 0.f;
      float* dkh = wa.data() + oh;
      for (int i = 0; i < N; ++i) {
        const float al = A.alpha[oh + i];
        dkh[i] = -wa[oh + i] + wb[oh + i] * al;
        dalpha[oh + i] = wb[oh + i] * A.kh[oh + i] + dk[oh + i] * A.k0[oh + i] * L.k_a[h * N + i];
        dot += dkh[i] * A.kh[oh + i];
      }
      const float nrm = A.knorm[r * H + h];
      const bool clamped = nrm <= 1e-12f;
      for (int i = 0; i < N; ++i) {
        const float dkappa = clamped ? dkh[i] / nrm : (dkh[i] - A.kh[oh + i] * dot) / nrm;
        dk0[oh + i] = dk[oh + i] * (1.f + (A.alpha[oh + i] - 1.f) * L.k_a[h * N + i]) + dkappa * L.k_k[h * N + i];
        dalpha[oh + i] *= A.alpha[oh + i] * (1.f - A.alpha[oh + i]);
      }
    }
    for (int c = 0; c < C; ++c) {
      const float dvc = dv[o + c];
      if (L.value_residual) {
        const float nu = A.nu[o + c];
        dv_pre[o + c] = dvc * (1.f - nu);
        dvfirst[o + c] += dvc * nu;
        dv[o + c] = dvc * (vfirst[o + c] - A.v_pre[o + c]) * nu * (1.f - nu);
      } else {
        dv_pre[o + c] = dvc + dvfirst[o + c];
      }
    }
  });

  // Gradients w.r.t. the six mixed inputs, each turned into ∂L/∂xa through the token shift.
  Buf lora(M * std::max({Dw_, Da_, Dv_, Dg_})), dmix(MC), dxa(MC, 0.f);
  auto shift_back = [&](const Buf& mu) { shift_mix_backward(B, T, C, dmix.data(), mu.data(), dxa.data()); };
  matmul(m, dr.data(), L.R, false, dmix.data(), 0.f);
  shift_back(L.mu_r);
  matmul(m, dk0.data(), L.K, false, dmix.data(), 0.f);
  shift_back(L.mu_k);
  matmul(m, dv_pre.data(), L.V, false, dmix.data(), 0.f);
  if (L.value_residual) {
    matmul(m, dv.data(), L.v2, true, lora.data(), 0.f);
    matmul(m, lora.data(), L.v1, true, dmix.data(), 1.f);
  }
  shift_back(L.mu_v);
  matmul(m, ww.data(), L.w2, true, lora.data(), 0.f);
  map_inplace(lora, [&](float d, long i) { return i < M * Dw_ ? d * (1.f - A.hw[i] * A.hw[i]) : d; });
  matmul(m, lora.data(), L.w1, true, dmix.data(), 0.f);
  shift_back(L.mu_w);
  matmul(m, dalpha.data(), L.a2, true, lora.data(), 0.f);
  matmul(m, lora.data(), L.a1, true, dmix.data(), 0.f);
  shift_back(L.mu_a);
  matmul(m, dg.data(), L.g2, true, lora.data(), 0.f);
  map_inplace(lora, [&](float d, long i) { return i < M * Dg_ ? d * A.gg[i] * (1.f - A.gg[i]) : d; });
  matmul(m, lora.data(), L.g1, true, dmix.data(), 0.f);
  shift_back(L.mu_g);
  layer_norm_backward(m, C, A.x_in.data(), L.ln1_w.data(), dxa.data(), dx, true);
}

LossResult Rwkv7::loss_and_grad(const int32_t* inputs, const int32_t* targets, int B, int T, const float* s0,
                                float* grad_s0, const LossOptions& opt, const Cancel& cancel) const {
  const int C = this->C(), Ls = cfg_.n_layer;
  const long M = long(B) * T, MC = M * C, HNN = H() * NN();
  Buf x(MC), vfirst(MC), state(B * HNN), s0b(B * HNN);
  embed(inputs, M, x.data());
  std::vector<Acts> acts(Ls);
  for (int l = 0; l < Ls; ++l) {
    check_cancel(cancel);
    for (int b = 0; b < B; ++b) std::memcpy(state.data() + b * HNN, s0 + l * HNN, HNN * sizeof(float));
    layer_forward(l, B, T, x.data(), vfirst.data(), nullptr, state.data(), nullptr, acts[l]);
  }
  check_cancel(cancel);
  const long n_targets = count_targets(M, targets);
  HeadLossScale scale;
  scale.ce_grad_scale = n_targets > 0 ? 1.f / float(n_targets) : 0.f;
  scale.l2wrap_scale = opt.l2wrap ? float(1e-4 / double(M)) : 0.f;
  Buf dx(MC), dvfirst(MC, 0.f), ds0b(B * HNN);
  const HeadLossSum hs = head_loss(int(M), C, x.data(), head_, targets, scale, dx.data(), cancel);
  for (int l = Ls - 1; l >= 0; --l) {
    check_cancel(cancel);
    for (int b = 0; b < B; ++b) std::memcpy(s0b.data() + b * HNN, s0 + l * HNN, HNN * sizeof(float));
    layer_backward(l, B, T, acts[l], vfirst.data(), s0b.data(), dx.data(), dvfirst.data(), ds0b.data());
    Buf().swap(acts[l].hpre);  // free the biggest saved activation as soon as it is used
    float* g = grad_s0 + l * HNN;
    std::memcpy(g, ds0b.data(), HNN * sizeof(float));
    for (int b = 1; b < B; ++b) for (long i = 0; i < HNN; ++i) g[i] += ds0b[b * HNN + i];
  }
  return {hs.ce_sum, hs.n_targets};
}

}  // namespace

std::unique_ptr<Model> make_model_v7(const Config& cfg, const TensorMap& tensors) {
  return std::make_unique<Rwkv7>(cfg, tensors);
}

}  // namespace rwkv

#include "cpu/cpu_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cpu/norm.h"
#include "cpu/profile.h"
#include "cpu/scratch_buf.h"
#include "cpu/rows.h"
#include "cpu/vmath.h"

#define RWKV_PER_ISA_FILE "cpu/ffn.inc"
#include "cpu/per_isa.h"

namespace rwkv {
namespace {

using Buf = ScratchBuf;

constexpr int kSeqChunk = 512;  // inference rows per pass: bounds activation memory for long prompts

long act_cache_mb(long requested) {
  if (requested >= 0) return requested;
  const char* env = std::getenv("RWKV_ACT_CACHE_MB");
  return env && *env ? std::max(0L, std::strtol(env, nullptr, 10)) : 512;
}

// One layer's state for the B sequences of a call, owned; zero until loaded (a state-tuning call
// sets only the wkv part: its token shifts start at zero).
struct LayerBuf {
  Buf att, wkv, ffn;
  LayerBuf(int B, long C, long S) : att(size_t(B) * C, 0.f), wkv(size_t(B) * S, 0.f), ffn(size_t(B) * C, 0.f) {}
  LayerState view() { return {att.data(), wkv.data(), ffn.data()}; }
};

// The caller's states are sequence-major ([B, L, n]); a layer works on its own [B, n] rows.
void gather_layer(int B, int L, int l, long n, const float* src, float* dst) {
  for (int b = 0; b < B; ++b) std::memcpy(dst + b * n, src + (long(b) * L + l) * n, n * sizeof(float));
}
void scatter_layer(int B, int L, int l, long n, const float* src, float* dst) {
  for (int b = 0; b < B; ++b) std::memcpy(dst + (long(b) * L + l) * n, src + b * n, n * sizeof(float));
}
// Hands the memory a training call freed back to the system when the call ends. Each call runs on
// whichever libuv worker thread takes it, and glibc gives every thread its own arena that keeps
// what was freed in it: without this, chunks of one long sample run on four threads held four
// chunks' activations (ctx 4096 in chunks of 512 peaked at 2.3× ctx 512's RSS instead of ~1×).
struct ReleaseFreedMemory {
  ~ReleaseFreedMemory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  }
};

// Layer l's part of `from` into `to` (a null part reads as zeros), and back.
void load_layer(int B, int L, int l, long C, long S, const BatchStateIn& from, LayerBuf& to) {
  auto part = [&](const float* src, Buf& dst, long n) {
    if (src) gather_layer(B, L, l, n, src, dst.data());
    else std::fill(dst.begin(), dst.end(), 0.f);
  };
  part(from.att_x, to.att, C);
  part(from.wkv, to.wkv, S);
  part(from.ffn_x, to.ffn, C);
}
void store_layer(int B, int L, int l, long C, long S, const LayerBuf& from, const BatchState& to) {
  if (to.att_x) scatter_layer(B, L, l, C, from.att.data(), to.att_x);
  if (to.wkv) scatter_layer(B, L, l, S, from.wkv.data(), to.wkv);
  if (to.ffn_x) scatter_layer(B, L, l, C, from.ffn.data(), to.ffn_x);
}

}  // namespace

std::unique_ptr<Model> make_model(const Config& cfg, const TensorMap& tensors, const CpuOptions& opt) {
  switch (cfg.version) {
    case 7: return make_model_v7(cfg, tensors, opt);
    case 6: return make_model_v6(cfg, tensors, opt);
    default: throw RwkvError("unsupported RWKV version " + std::to_string(cfg.version) + " (supported: 6, 7)");
  }
}

CpuModel::CpuModel(const Config& cfg, const Loader& ld, const CpuOptions& opt)
    : weights_(ld.arena()), prec_(opt.compute) {
  cfg_ = cfg;
  const Config& c = cfg;
  if (c.n_layer <= 0 || c.n_embd <= 0 || c.n_head <= 0 || c.head_size <= 0 || c.vocab <= 0 || c.dim_ffn <= 0)
    throw RwkvError(ld.model() + " config: nLayer, nEmbd, nHead, headSize, vocab and dimFfn must be positive");
  if (c.n_head * c.head_size != c.n_embd)
    throw RwkvError(ld.model() + " config: nHead·headSize = " + std::to_string(c.n_head * c.head_size) +
                    " differs from nEmbd " + std::to_string(c.n_embd));
  const int C = c.n_embd, V = c.vocab;
  emb_ = ld.view("emb.weight", V, C);  // a row a token: not worth a copy
  ln0_ = ld.norm("blocks.0.ln0", C);
  ln_out_ = ld.norm("ln_out", C);
  head_ = {ln_out_.w.data(), ln_out_.b.data(), ld.matrix("head.weight", V, C), opt.compute};
}

CpuModel::~CpuModel() { scratch_release(); }

void CpuModel::embed(const int32_t* tokens, long M, float* x) const {
  const int C = this->C();
  for (long m = 0; m < M; ++m)
    if (tokens[m] < 0 || tokens[m] >= cfg_.vocab)
      throw RwkvError("token " + std::to_string(tokens[m]) + " at position " + std::to_string(m) +
                      " is outside the vocabulary [0, " + std::to_string(cfg_.vocab) + ")");
  const TensorView emb{emb_.data, emb_.dtype, {emb_.rows, emb_.cols}};
  for_rows(M, [&](long m) {
    const long row = long(tokens[m]) * C;
    for (int c = 0; c < C; ++c) x[m * C + c] = emb.at(row + c);
  });
  layer_norm(int(M), C, x, ln0_.w.data(), ln0_.b.data(), x);
}

void CpuModel::sqrelu_ffn(int M, const float* xk, const Mat& K, const Mat& V, float* hpre, float* out,
                          float beta) const {
  const long n = long(M) * K.rows;
  Buf h(n);
  mul(M, xk, K, true, hpre);
  const auto act = RWKV_PER_ISA(relu_sq_range);
  parallel_for(n, [&](long i0, long i1) { act(i0, i1, hpre, h.data()); }, kElemGrain);
  mul(M, h.data(), V, true, out, beta);
}

void CpuModel::sqrelu_ffn_backward(int M, const float* dout, const Mat& K, const Mat& V, const float* hpre,
                                   float* dxk) const {
  const long n = long(M) * K.rows;
  Buf dh(n);
  mul(M, dout, V, false, dh.data());
  const auto act_backward = RWKV_PER_ISA(relu_sq_backward_range);
  parallel_for(n, [&](long i0, long i1) { act_backward(i0, i1, hpre, dh.data()); }, kElemGrain);
  mul(M, dh.data(), K, false, dxk);
}

void CpuModel::forward_seq(const int32_t* tokens, int T, StateRef st, float* logits, LogitsMode mode,
                           const Cancel& cancel) const {
  if (T <= 0) throw RwkvError("forward_seq: the token sequence is empty");
  RWKV_REGION(Other);
  const int C = this->C(), V = cfg_.vocab, rows = std::min(T, kSeqChunk);
  const long S = cfg_.wkv_floats();
  Buf x(size_t(rows) * C), carry(size_t(rows) * carry_width());
  const std::unique_ptr<LayerActs> acts = new_acts(1, rows, false);
  // Long prompts run in pieces: the carried state makes this exact and bounds activation memory.
  for (int t0 = 0; t0 < T; t0 += rows) {
    const int n = std::min(rows, T - t0);
    embed(tokens + t0, n, x.data());
    for (int l = 0; l < cfg_.n_layer; ++l) {
      check_cancel(cancel);
      const LayerState s{st.att_x + size_t(l) * C, st.wkv + l * S, st.ffn_x + size_t(l) * C};
      layer_forward(l, 1, n, x.data(), carry.data(), s, *acts);
    }
    if (logits && mode == LogitsMode::All) head_logits(n, C, x.data(), head_, logits + size_t(t0) * V);
    if (logits && mode == LogitsMode::Last && t0 + n == T)
      head_logits(1, C, x.data() + size_t(n - 1) * C, head_, logits);
  }
}

void CpuModel::forward_rnn(int32_t token, StateRef state, float* logits) const {
  // One token is a sequence of length 1: the same recurrence, with the state carried.
  forward_seq(&token, 1, state, logits, logits ? LogitsMode::Last : LogitsMode::None, Cancel{});
}

LossResult CpuModel::train_chunk(const TrainChunk& c, const Cancel& cancel) const {
  const ReleaseFreedMemory release;  // declared first: runs after every buffer below is freed
  check_chunk(c, cfg_);
  RWKV_REGION(Other);
  const int B = c.B, T = c.T, L = cfg_.n_layer, C = this->C();
  const long M = long(B) * T, MC = M * C, S = cfg_.wkv_floats();
  const bool backward = c.backward();
  const int lo = backward ? c.layers.lowest() : L;  // layers [lo, L) run backward

  // Initial states. The forward updates `st`; the backward needs the initial ones of layers ≥ lo
  // again (to recompute a layer, and for RWKV-7's wkv backward).
  std::vector<LayerBuf> st(L, LayerBuf(B, C, S));
  for (int l = 0; l < L; ++l) {
    if (!c.s0) load_layer(B, L, l, C, S, c.init, st[l]);
    else for (int b = 0; b < B; ++b) std::memcpy(&st[l].wkv[b * S], c.s0 + l * S, S * sizeof(float));
  }
  const std::vector<LayerBuf> st0(st.begin() + lo, st.end());

  // Activations: the top layers' kept while they fit the budget, one scratch set for the rest.
  std::vector<std::unique_ptr<LayerActs>> kept(L);
  std::unique_ptr<LayerActs> scratch;
  int keep = 0;
  if (backward) {
    std::unique_ptr<LayerActs> top = new_acts(B, T, true);  // its size tells how many fit
    keep = int(std::min<long>(L - lo, (act_cache_mb(c.act_cache_mb) << 20) / long(top->bytes())));
    (keep > 0 ? kept[L - 1] : scratch) = std::move(top);
    for (int l = L - 2; l >= L - keep; --l) kept[l] = new_acts(B, T, true);
  }
  if (!scratch && (lo > 0 || keep < L - lo)) scratch = new_acts(B, T, keep < L - lo);

  // xs: the input of every layer ≥ lo, then the top layer's output; layers below lo work in place
  // in the first slot.
  Buf xs(size_t(L - lo + 1) * MC), carry(size_t(M) * carry_width());
  float* x = xs.data();
  embed(c.inputs, M, x);
  for (int l = 0; l < L; ++l) {
    check_cancel(cancel);
    if (l >= lo) {
      std::memcpy(x + MC, x, MC * sizeof(float));
      x += MC;
    }
    layer_forward(l, B, T, x, carry.data(), st[l].view(), kept[l] ? *kept[l] : *scratch);
  }
  for (int l = 0; l < L; ++l) store_layer(B, L, l, C, S, st[l], c.final_state);

  LossResult res;
  Buf dx(backward ? MC : 0);
  const HeadLossSum hs = head_loss(int(M), C, x, head_, c.targets, c.scale, backward ? dx.data() : nullptr, cancel,
                                   c.soft.any() ? &c.soft : nullptr);
  res.loss_sum = hs.ce_sum;
  res.n_targets = hs.n_targets;
  if (!backward) return res;

  LayerBuf d(B, C, S), re(B, C, S);  // a layer's state gradient; a recomputed layer's state
  Buf x_re;                          // a recomputed layer's input, worked on in place
  for (int l = L - 1; l >= lo; --l) {
    check_cancel(cancel);
    const float* x_in = xs.data() + size_t(l - lo) * MC;
    const LayerBuf& s0 = st0[l - lo];
    if (!kept[l]) {
      x_re.assign(x_in, x_in + MC);
      re = s0;
      layer_forward(l, B, T, x_re.data(), carry.data(), re.view(), *scratch);
      ++res.layers_recomputed;
    }
    load_layer(B, L, l, C, S, c.d_final, d);
    const bool need_dx = l > lo;
    layer_backward(l, B, T, x_in, carry.data(), s0.wkv.data(), kept[l] ? *kept[l] : *scratch, dx.data(), d.view(),
                   need_dx);
    ++res.layers_backward;
    kept[l].reset();  // its memory serves the layers below
    if (!need_dx) std::fill(d.att.begin(), d.att.end(), 0.f);
    store_layer(B, L, l, C, S, d, c.d_init);
    if (c.grad_s0) {
      float* g = c.grad_s0 + l * S;
      std::fill(g, g + S, 0.f);
      if (c.layers.has(l))
        for (int b = 0; b < B; ++b) for (long i = 0; i < S; ++i) g[i] += d.wkv[b * S + i];
    }
  }
  // Nothing trained reaches the layers below lo.
  std::fill(d.att.begin(), d.att.end(), 0.f);
  std::fill(d.wkv.begin(), d.wkv.end(), 0.f);
  std::fill(d.ffn.begin(), d.ffn.end(), 0.f);
  for (int l = 0; l < lo; ++l) {
    store_layer(B, L, l, C, S, d, c.d_init);
    if (c.grad_s0) std::fill(c.grad_s0 + l * S, c.grad_s0 + (l + 1) * S, 0.f);
  }
  return res;
}

}  // namespace rwkv

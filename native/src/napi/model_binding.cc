// createModel / NativeModel / adamStep (declared in kernel/runtime/native.ts). Arguments are
// validated here (TypeError / RangeError naming the argument); heavy calls run as Promises on a
// libuv worker and keep every JS buffer they touch alive until they finish.
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "cpu/adam.h"
#include "cpu/cpu_model.h"
#include "napi/args.h"
#include "napi/registry.h"
#include "napi/worker.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/backend.h"
#endif

namespace rwkv::napi {
namespace {

using Keep = std::vector<Napi::Value>;

Config config_of(const Napi::Value& v) {
  const Napi::Object o = object_arg(v, "createModel: config");
  auto field = [&](const char* key) { return int_arg(o.Get(key), std::string("config.") + key, 0, 1000000000); };
  Config c;
  c.version = field("version");
  c.n_layer = field("nLayer");
  c.n_embd = field("nEmbd");
  c.n_head = field("nHead");
  c.head_size = field("headSize");
  c.vocab = field("vocabSize");
  c.dim_ffn = field("dimFfn");
  return c;
}

// Builds views of the tensors; `keep` collects the objects whose memory the views point into.
TensorMap tensors_of(const Napi::Value& v, Napi::Array keep) {
  const Napi::Object o = object_arg(v, "createModel: tensors (an object of {dtype, shape, data})");
  TensorMap map;
  auto names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const std::string what = "tensors[\"" + name + "\"]";
    const Napi::Object t = object_arg(o.Get(name), what + " {dtype, shape, data}");
    TensorView view;
    view.dtype = dtype_arg(t.Get("dtype"), what + ".dtype");
    auto shape = t.Get("shape");
    if (!shape.IsArray()) throw Napi::TypeError::New(v.Env(), what + ".shape must be an array");
    auto sa = shape.As<Napi::Array>();
    for (uint32_t d = 0; d < sa.Length(); ++d) view.shape.push_back(int_arg(sa.Get(d), what + ".shape[]", 0));
    auto data = t.Get("data");
    auto [ptr, bytes] = bytes_of(data, what + ".data");
    const size_t want = size_t(view.numel()) * dtype_size(view.dtype);
    if (bytes != want)
      throw Napi::RangeError::New(v.Env(), what + ".data has " + std::to_string(bytes) +
                                               " bytes, shape and dtype need " + std::to_string(want));
    view.data = ptr;
    keep.Set(keep.Length(), data);
    map.emplace(name, std::move(view));
  }
  return map;
}

Cancel cancel_of(const Napi::Value& v) { return Cancel{optional_ptr<int32_t>(v, "cancel", 1)}; }

// Token ids in [0, V); with allow_ignore also −100 (targets).
void check_tokens(const Napi::Value& arg, const int32_t* t, size_t n, int V, const char* what, bool allow_ignore) {
  for (size_t i = 0; i < n; ++i)
    if ((t[i] < 0 || t[i] >= V) && !(allow_ignore && t[i] == kIgnoreTarget))
      throw Napi::RangeError::New(arg.Env(), std::string(what) + "[" + std::to_string(i) + "] = " +
                                                 std::to_string(t[i]) + " is " + (allow_ignore ? "neither " : "not ") +
                                                 "a token id in [0, " + std::to_string(V) + ")" +
                                                 (allow_ignore ? " nor -100" : ""));
}

// Recurrent states of B sequences {attX [B,L,C], wkv [B,L,H,N,N], ffnX [B,L,C]}. complete: every
// part is required; otherwise a missing part stays null. Adds the arrays to `keep`.
BatchState states_of(const Napi::Value& v, const std::string& what, const Config& c, int B, bool complete,
                     Keep& keep) {
  const Napi::Object o = object_arg(v, what + " {attX, wkv, ffnX}");
  const size_t lc = size_t(B) * c.n_layer * c.n_embd, lw = size_t(B) * c.n_layer * c.wkv_floats();
  auto part = [&](const char* key, size_t n) -> float* {
    const Napi::Value a = o.Get(key);
    if (absent(a) && !complete) return nullptr;
    keep.push_back(a);
    return typed_ptr<float>(a, what + "." + key, n);
  };
  BatchState s;
  s.att_x = part("attX", lc);
  s.wkv = part("wkv", lw);
  s.ffn_x = part("ffnX", lc);
  return s;
}
BatchStateIn in(const BatchState& s) { return {s.att_x, s.wkv, s.ffn_x}; }

// layers: the indices of the trained layers → a mask.
LayerSet layers_of(const Napi::Value& v, const std::string& what, int L) {
  LayerSet set;
  if (v.IsUndefined()) return set;
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), what + " must be an array of layer indices");
  auto a = v.As<Napi::Array>();
  if (a.Length() == 0) throw Napi::RangeError::New(v.Env(), what + " must name at least one layer");
  set.trained.assign(size_t(L), 0);
  for (uint32_t i = 0; i < a.Length(); ++i) set.trained[size_t(int_arg(a.Get(i), what + "[]", 0, L - 1))] = 1;
  return set;
}

long cache_mb_of(const Napi::Value& v, const std::string& what) {
  return v.IsUndefined() ? -1 : int_arg(v, what, 0);
}

Napi::Object loss_result(Napi::Env env, const LossResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("lossSum", r.loss_sum);
  o.Set("nTargets", double(r.n_targets));
  o.Set("layersBackward", r.layers_backward);
  o.Set("layersRecomputed", r.layers_recomputed);
  return o;
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("forwardSeq", &ModelWrap::ForwardSeq),
                        InstanceMethod("forwardRnn", &ModelWrap::ForwardRnn),
                        InstanceMethod("lossAndGrad", &ModelWrap::LossAndGrad),
                        InstanceMethod("trainChunk", &ModelWrap::TrainChunkCall),
                        InstanceMethod("dispose", &ModelWrap::Dispose)});
  }
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}

  void Init(std::shared_ptr<Model> model, Napi::Array weights) {
    model_ = std::move(model);
    weights_ = Napi::Persistent(weights);
  }

 private:
  const Model& model(Napi::Env env) const {
    if (!model_) throw Napi::Error::New(env, "this model was disposed");
    return *model_;
  }

  // One sequence's state {attX [L,C], wkv [L,H,N,N], ffnX [L,C]}.
  StateRef state_of(const Napi::Value& v, Keep& keep) const {
    const BatchState s = states_of(v, "state", model_->config(), 1, true, keep);
    return {s.att_x, s.wkv, s.ffn_x};
  }

  // Runs `work` on a worker, keeping the call's buffers and the weights alive.
  Napi::Promise run(Napi::Env env, Keep keep, PromiseWorker::Work work, PromiseWorker::Done done = nullptr) const {
    keep.push_back(weights_.Value());
    return PromiseWorker::Run(env, std::move(keep), std::move(work), std::move(done));
  }
  Napi::Promise run_loss(Napi::Env env, Keep keep, std::function<LossResult()> fn) const {
    auto result = std::make_shared<LossResult>();
    return run(env, std::move(keep), [=] { *result = fn(); },
               [result](Napi::Env e) -> Napi::Value { return loss_result(e, *result); });
  }

  // The arguments forwardSeq and forwardRnn share: (tokens, state, logits, mode, cancel?).
  struct ForwardArgs {
    const int32_t* tokens;
    int T;
    StateRef st;
    float* logits;
    LogitsMode mode;
    Cancel cancel;
    long V;  // logits per token
  };
  ForwardArgs forward_args(const Napi::CallbackInfo& info, Keep& keep) const {
    Napi::Env env = info.Env();
    const size_t V = size_t(model(env).config().vocab);
    const size_t T = typed_length<int32_t>(info[0], "tokens");
    if (T == 0 || T > size_t(1) << 30) throw Napi::RangeError::New(env, "tokens must hold at least one token");
    const int32_t* tokens = typed_ptr<int32_t>(info[0], "tokens");
    check_tokens(info[0], tokens, T, int(V), "tokens", false);
    keep.insert(keep.end(), {info[0], info[2], info[4]});
    const StateRef st = state_of(info[1], keep);
    const std::string ms = choice_arg(info[3], "mode", {"none", "last", "all"});
    const LogitsMode mode = ms == "none" ? LogitsMode::None : ms == "last" ? LogitsMode::Last : LogitsMode::All;
    float* logits = nullptr;
    if (mode != LogitsMode::None) {
      if (absent(info[2])) throw Napi::TypeError::New(env, "logits must be a Float32Array for mode \"" + ms + "\"");
      logits = typed_ptr<float>(info[2], "logits", mode == LogitsMode::All ? T * V : V);
    }
    return {tokens, int(T), st, logits, mode, cancel_of(info[4]), long(V)};
  }

  Napi::Value ForwardSeq(const Napi::CallbackInfo& info) {
    Keep keep;
    const ForwardArgs a = forward_args(info, keep);
    auto model = model_;
    return run(info.Env(), std::move(keep),
               [=] { model->forward_seq(a.tokens, a.T, a.st, a.logits, a.mode, a.cancel); });
  }

  // RNN mode over the tokens, one at a time, in one call: a token costs no round trip through JS
  // and the libuv queue (the 0.1B bf16 decode on the 2-vCPU Zen 4 VM: 11.4 → 9.6 ms a token).
  Napi::Value ForwardRnn(const Napi::CallbackInfo& info) {
    Keep keep;
    const ForwardArgs a = forward_args(info, keep);
    auto model = model_;
    return run(info.Env(), std::move(keep), [=] {
      for (int t = 0; t < a.T; ++t) {
        check_cancel(a.cancel);
        float* row = a.mode == LogitsMode::All                     ? a.logits + t * a.V
                     : a.mode == LogitsMode::Last && t == a.T - 1 ? a.logits
                                                                   : nullptr;
        model->forward_rnn(a.tokens[t], a.st, row);
      }
    });
  }

  // lossAndGrad(inputs, targets, batch, T, s0, gradS0, {l2wrap, layers?, activationCacheMB?}, cancel?)
  Napi::Value LossAndGrad(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Config& c = model(env).config();
    const int B = int_arg(info[2], "batch", 1, 100000000), T = int_arg(info[3], "T", 1, 100000000);
    const size_t n = size_t(B) * T, ns = size_t(c.n_layer) * c.wkv_floats();
    const int32_t* inputs = typed_ptr<int32_t>(info[0], "inputs", n);
    const int32_t* targets = typed_ptr<int32_t>(info[1], "targets", n);
    check_tokens(info[0], inputs, n, c.vocab, "inputs", false);
    check_tokens(info[1], targets, n, c.vocab, "targets", true);
    const float* s0 = typed_ptr<float>(info[4], "s0", ns);
    float* grad = typed_ptr<float>(info[5], "gradS0", ns);
    LossOptions opt;
    if (!info[6].IsUndefined()) {
      const Napi::Object o = object_arg(info[6], "opts { l2wrap, layers?, activationCacheMB? }");
      opt.l2wrap = bool_arg(o.Get("l2wrap"), "opts.l2wrap", true);
      opt.layers = layers_of(o.Get("layers"), "opts.layers", c.n_layer);
      opt.act_cache_mb = cache_mb_of(o.Get("activationCacheMB"), "opts.activationCacheMB");
    }
    const Cancel cancel = cancel_of(info[7]);
    auto model = model_;
    return run_loss(env, {info[0], info[1], info[4], info[5], info[7]},
                    [=] { return model->loss_and_grad(inputs, targets, B, T, s0, grad, opt, cancel); });
  }

  // trainChunk({inputs, targets, batch, T, s0 | init, finalState?, dFinal?, dInit?, gradS0?,
  //             ceGradScale, l2wrapScale, soft?: {k, probs, ids?}, layers?, activationCacheMB?}, cancel?)
  Napi::Value TrainChunkCall(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Config& c = model(env).config();
    const Napi::Object o = object_arg(info[0], "trainChunk: args");
    TrainChunk ch;
    ch.B = int_arg(o.Get("batch"), "args.batch", 1, 100000000);
    ch.T = int_arg(o.Get("T"), "args.T", 1, 100000000);
    const size_t n = size_t(ch.B) * ch.T, ns = size_t(c.n_layer) * c.wkv_floats();
    Keep keep{o.Get("inputs"), o.Get("targets"), o.Get("s0"), o.Get("gradS0"), info[1]};
    ch.inputs = typed_ptr<int32_t>(o.Get("inputs"), "args.inputs", n);
    ch.targets = typed_ptr<int32_t>(o.Get("targets"), "args.targets", n);
    check_tokens(o.Get("inputs"), ch.inputs, n, c.vocab, "args.inputs", false);
    check_tokens(o.Get("targets"), ch.targets, n, c.vocab, "args.targets", true);
    ch.s0 = optional_ptr<float>(o.Get("s0"), "args.s0", ns);
    // The states: init complete; outputs and dFinal may leave parts out.
    auto states = [&](const char* key, bool complete) {
      const Napi::Value v = o.Get(key);
      return absent(v) ? BatchState{} : states_of(v, std::string("args.") + key, c, ch.B, complete, keep);
    };
    ch.init = in(states("init", true));
    if (bool(ch.s0) == ch.init.any()) throw Napi::TypeError::New(env, "trainChunk: give either args.s0 or args.init");
    ch.final_state = states("finalState", false);
    ch.d_final = in(states("dFinal", false));
    ch.d_init = states("dInit", false);
    ch.grad_s0 = optional_ptr<float>(o.Get("gradS0"), "args.gradS0", ns);
    ch.scale.ce_grad_scale = float(number_arg(o.Get("ceGradScale"), "args.ceGradScale"));
    ch.scale.l2wrap_scale = float(number_arg(o.Get("l2wrapScale"), "args.l2wrapScale"));
    ch.layers = layers_of(o.Get("layers"), "args.layers", c.n_layer);
    ch.act_cache_mb = cache_mb_of(o.Get("activationCacheMB"), "args.activationCacheMB");
    if (!absent(o.Get("soft"))) {
      const Napi::Object so = object_arg(o.Get("soft"), "args.soft { k, probs, ids? }");
      ch.soft.k = int_arg(so.Get("k"), "args.soft.k", 1, c.vocab);
      const size_t nk = n * size_t(ch.soft.k);
      ch.soft.probs = typed_ptr<float>(so.Get("probs"), "args.soft.probs", nk);
      ch.soft.ids = optional_ptr<int32_t>(so.Get("ids"), "args.soft.ids", nk);
      if (ch.soft.ids)
        for (size_t i = 0; i < nk; ++i)
          if (ch.soft.ids[i] < -1 || ch.soft.ids[i] >= c.vocab)
            throw Napi::RangeError::New(env, "args.soft.ids[" + std::to_string(i) + "] = " +
                                                 std::to_string(ch.soft.ids[i]) + " is outside [0, " +
                                                 std::to_string(c.vocab) + ") and is not -1 (unused)");
      keep.push_back(so.Get("probs"));
      if (ch.soft.ids) keep.push_back(so.Get("ids"));
    }
    const Cancel cancel = cancel_of(info[1]);
    auto model = model_;
    return run_loss(env, std::move(keep), [=] { return model->train_chunk(ch, cancel); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model_.reset();  // in-flight calls hold their own reference (and the weights) until they end
    weights_.Reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Model> model_;
  Napi::Reference<Napi::Array> weights_;
};

thread_local Napi::FunctionReference* model_ctor = nullptr;  // one per JS environment (thread)

// createModel(config, tensors, device?, {quant?, compute?})
Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Config cfg = config_of(info[0]);
  auto weights = Napi::Array::New(env);
  const TensorMap tensors = tensors_of(info[1], weights);
  const std::string device = choice_arg(info[2], "device", {"cpu", "cuda"}, "cpu");
  const Napi::Object opts = info[3].IsUndefined() ? Napi::Object::New(env) : object_arg(info[3], "opts");
  // quant: nf4/int8 frozen matrices, a CUDA-backend option (docs/spec.md §3.9).
  const std::string quant = choice_arg(opts.Get("quant"), "opts.quant", {"none", "nf4", "int8"}, "none");
  if (quant != "none" && device != "cuda")
    throw Napi::Error::New(env, "quant \"" + quant + "\" needs device \"cuda\": the CPU runtime keeps bf16/fp32 " +
                                    "weights (bf16 already halves their memory)");
  // compute: the arithmetic of the CPU backend's products (bf16: vdpbf16ps where the CPU has it).
  const Napi::Value compute_arg = opts.Get("compute");
  CpuOptions cpu;
  cpu.compute = choice_arg(compute_arg, "opts.compute", {"f32", "bf16"}, "f32") == "bf16" ? Precision::BF16
                                                                                          : Precision::F32;
  std::shared_ptr<Model> model;
  if (device == "cpu") {
    model = guard(env, [&] { return std::shared_ptr<Model>(make_model(cfg, tensors, cpu)); });
  } else {
#ifdef RWKV_WITH_CUDA
    if (!compute_arg.IsUndefined() && cpu.compute != Precision::BF16)
      throw Napi::Error::New(env, "compute \"f32\" is not available on the CUDA backend: its GEMMs multiply bf16 "
                                  "weights on tensor cores (fp32 sums); leave compute unset or use \"bf16\"");
    rwkv::cuda::QuantOptions qo;
    qo.quant = quant == "nf4" ? rwkv::cuda::Quant::NF4 : quant == "int8" ? rwkv::cuda::Quant::Int8
                                                                          : rwkv::cuda::Quant::None;
    model = guard(env, [&] {
      make_model(cfg, tensors);  // the CPU loader checks every key and shape, naming the key
      return std::shared_ptr<Model>(rwkv::cuda::make_model_cuda(cfg, tensors, qo));
    });
#else
    throw Napi::Error::New(env, "this build has no CUDA backend (no CUDA toolkit was found when the native runtime "
                                "was built)");
#endif
  }
  auto obj = model_ctor->New({});
  ModelWrap::Unwrap(obj)->Init(std::move(model), weights);
  return obj;
}

// adamStep(p, m, v, g, {lr, beta1, beta2, eps, step}): synchronous (a few MB at most).
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = typed_length<float>(info[0], "p");
  float* p = typed_ptr<float>(info[0], "p");
  float* m = typed_ptr<float>(info[1], "m", n);
  float* v = typed_ptr<float>(info[2], "v", n);
  const float* g = typed_ptr<float>(info[3], "g", n);
  const Napi::Object o = object_arg(info[4], "adamStep: opts {lr, beta1, beta2, eps, step}");
  auto num = [&](const char* key) { return number_arg(o.Get(key), std::string("adamStep: opts.") + key); };
  AdamParams a;
  a.lr = num("lr"); a.beta1 = num("beta1"); a.beta2 = num("beta2"); a.eps = num("eps");
  a.step = int_arg(o.Get("step"), "adamStep: opts.step", 1);
  if (!(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1))
    throw Napi::RangeError::New(env, "adamStep: opts.beta1 and opts.beta2 must be in [0, 1)");
  guard(env, [&] { adam_step(long(n), p, m, v, g, a); });
  return env.Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  model_ctor = new Napi::FunctionReference(Napi::Persistent(ModelWrap::Define(env)));
  exports.Set("createModel", Napi::Function::New(env, CreateModel, "createModel"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi

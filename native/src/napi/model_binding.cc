// createModel / NativeModel / adamStep (declared in kernel/runtime/native.ts). Arguments are
// validated here (TypeError / RangeError naming the argument); heavy calls run as Promises on a
// libuv worker and keep every JS buffer they touch alive until they finish.
#include <cmath>
#include <memory>
#include <string>

#include "cpu/adam.h"
#include "cpu/cpu_model.h"
#include "napi/registry.h"
#include "napi/util.h"
#ifdef RWKV_WITH_CUDA
#include "cuda/backend.h"
#endif

namespace rwkv::napi {
namespace {

int int_of(const Napi::Object& o, const char* key, const char* what) {
  auto v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(what) + "." + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || d < 0 || d > 1e9)
    throw Napi::RangeError::New(o.Env(), std::string(what) + "." + key + " must be a non-negative integer");
  return int(d);
}

Config config_of(const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "createModel: config must be an object");
  auto o = v.As<Napi::Object>();
  Config c;
  c.version = int_of(o, "version", "config");
  c.n_layer = int_of(o, "nLayer", "config");
  c.n_embd = int_of(o, "nEmbd", "config");
  c.n_head = int_of(o, "nHead", "config");
  c.head_size = int_of(o, "headSize", "config");
  c.vocab = int_of(o, "vocab", "config");
  c.dim_ffn = int_of(o, "dimFfn", "config");
  return c;
}

DType dtype_of(const Napi::Value& v, const std::string& what) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "f32") return DType::F32;
  if (s == "bf16") return DType::BF16;
  if (s == "f16") return DType::F16;
  throw Napi::TypeError::New(v.Env(), what + ".dtype must be \"f32\", \"bf16\" or \"f16\"");
}

// Builds views of the tensors; `keep` collects the objects whose memory the views point into.
TensorMap tensors_of(const Napi::Value& v, Napi::Array keep) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "createModel: tensors must be an object of {dtype, shape, data}");
  auto o = v.As<Napi::Object>();
  TensorMap map;
  auto names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const std::string what = "tensors[\"" + name + "\"]";
    auto tv = o.Get(name);
    if (!tv.IsObject()) throw Napi::TypeError::New(v.Env(), what + " must be an object {dtype, shape, data}");
    auto t = tv.As<Napi::Object>();
    TensorView view;
    view.dtype = dtype_of(t.Get("dtype"), what);
    auto shape = t.Get("shape");
    if (!shape.IsArray()) throw Napi::TypeError::New(v.Env(), what + ".shape must be an array");
    auto sa = shape.As<Napi::Array>();
    for (uint32_t d = 0; d < sa.Length(); ++d) {
      auto e = sa.Get(d);
      if (!e.IsNumber() || e.As<Napi::Number>().DoubleValue() < 0)
        throw Napi::TypeError::New(v.Env(), what + ".shape must hold non-negative integers");
      view.shape.push_back(e.As<Napi::Number>().Int64Value());
    }
    auto data = t.Get("data");
    auto [ptr, bytes] = bytes_of(data, (what + ".data").c_str());
    const size_t want = size_t(view.numel()) * dtype_size(view.dtype);
    if (bytes != want)
      throw Napi::RangeError::New(v.Env(), what + ".data has " + std::to_string(bytes) + " bytes, shape and dtype need " +
                                               std::to_string(want));
    view.data = ptr;
    keep.Set(keep.Length(), data);
    map.emplace(name, std::move(view));
  }
  return map;
}

Cancel cancel_of(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return {};
  return Cancel{typed_ptr<int32_t>(v, "cancel", 1)};
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("forwardSeq", &ModelWrap::ForwardSeq), InstanceMethod("forwardRnn", &ModelWrap::ForwardRnn),
                        InstanceMethod("lossAndGrad", &ModelWrap::LossAndGrad), InstanceMethod("dispose", &ModelWrap::Dispose)});
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

  StateRef state_of(const Napi::Value& v) const {
    if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "state must be an object {attX, wkv, ffnX}");
    auto o = v.As<Napi::Object>();
    const Config& c = model_->config();
    const size_t lc = size_t(c.n_layer) * c.n_embd, lw = lc * c.head_size;
    return {typed_ptr<float>(o.Get("attX"), "state.attX", lc), typed_ptr<float>(o.Get("wkv"), "state.wkv", lw),
            typed_ptr<float>(o.Get("ffnX"), "state.ffnX", lc)};
  }

  void check_tokens(Napi::Env env, const int32_t* t, size_t n, const char* what) const {
    const int V = model_->config().vocab;
    for (size_t i = 0; i < n; ++i)
      if (t[i] < 0 || t[i] >= V)
        throw Napi::RangeError::New(env, std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                                             " is not a token id in [0, " + std::to_string(V) + ")");
  }

  // Values a worker must keep alive: the call's own buffers, the state's arrays (not just the
  // state object, whose properties could be reassigned meanwhile) and the weights.
  std::vector<Napi::Value> keep(std::initializer_list<Napi::Value> args, const Napi::Value& state) const {
    std::vector<Napi::Value> k(args);
    auto o = state.As<Napi::Object>();
    for (const char* name : {"attX", "wkv", "ffnX"}) k.push_back(o.Get(name));
    k.push_back(weights_.Value());
    return k;
  }
  std::vector<Napi::Value> keep(std::initializer_list<Napi::Value> args) const {
    std::vector<Napi::Value> k(args);
    k.push_back(weights_.Value());
    return k;
  }

  Napi::Value ForwardSeq(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Model& m = model(env);
    auto tv = info[0];
    if (!tv.IsTypedArray() || tv.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "tokens must be an Int32Array");
    const size_t T = tv.As<Napi::TypedArray>().ElementLength();
    if (T == 0 || T > size_t(1) << 30) throw Napi::RangeError::New(env, "tokens must hold at least one token");
    const int32_t* tokens = typed_ptr<int32_t>(tv, "tokens");
    check_tokens(env, tokens, T, "tokens");
    const StateRef st = state_of(info[1]);
    const std::string ms = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
    LogitsMode mode;
    size_t need;
    const size_t V = size_t(m.config().vocab);
    if (ms == "none") { mode = LogitsMode::None; need = 0; }
    else if (ms == "last") { mode = LogitsMode::Last; need = V; }
    else if (ms == "all") { mode = LogitsMode::All; need = T * V; }
    else throw Napi::TypeError::New(env, "mode must be \"none\", \"last\" or \"all\"");
    float* logits = nullptr;
    if (need) {
      if (info[2].IsNull() || info[2].IsUndefined()) throw Napi::TypeError::New(env, "logits must be a Float32Array for mode \"" + ms + "\"");
      logits = typed_ptr<float>(info[2], "logits", need);
    }
    const Cancel cancel = cancel_of(info[4]);
    auto model = model_;
    return PromiseWorker::Run(env, keep({info[0], info[2], info[4]}, info[1]), [=] {
      model->forward_seq(tokens, int(T), st, logits, mode, cancel);
    });
  }

  Napi::Value ForwardRnn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Model& m = model(env);
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "token must be a number");
    const double td = info[0].As<Napi::Number>().DoubleValue();
    if (td != std::floor(td) || td < 0 || td >= m.config().vocab)
      throw Napi::RangeError::New(env, "token " + std::to_string(td) + " is not a token id in [0, " +
                                           std::to_string(m.config().vocab) + ")");
    const int32_t token = int32_t(td);
    const StateRef st = state_of(info[1]);
    float* logits = info[2].IsNull() || info[2].IsUndefined() ? nullptr : typed_ptr<float>(info[2], "logits", m.config().vocab);
    auto model = model_;
    return PromiseWorker::Run(env, keep({info[2]}, info[1]), [=] { model->forward_rnn(token, st, logits); });
  }

  Napi::Value LossAndGrad(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Model& m = model(env);
    const Config& c = m.config();
    auto dim = [&](int i, const char* what) {
      if (!info[i].IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
      const double d = info[i].As<Napi::Number>().DoubleValue();
      if (d != std::floor(d) || d < 1 || d > 1e8) throw Napi::RangeError::New(env, std::string(what) + " must be a positive integer");
      return int(d);
    };
    const int B = dim(2, "batch"), T = dim(3, "T");
    const size_t n = size_t(B) * T, ns = size_t(c.n_layer) * c.n_embd * c.head_size;
    const int32_t* inputs = typed_ptr<int32_t>(info[0], "inputs", n);
    const int32_t* targets = typed_ptr<int32_t>(info[1], "targets", n);
    check_tokens(env, inputs, n, "inputs");
    for (size_t i = 0; i < n; ++i)
      if (targets[i] != -100 && (targets[i] < 0 || targets[i] >= c.vocab))
        throw Napi::RangeError::New(env, "targets[" + std::to_string(i) + "] = " + std::to_string(targets[i]) +
                                             " is neither a token id in [0, " + std::to_string(c.vocab) + ") nor -100");
    const float* s0 = typed_ptr<float>(info[4], "s0", ns);
    float* grad = typed_ptr<float>(info[5], "gradS0", ns);
    LossOptions opt;
    if (info[6].IsObject()) {
      auto l2 = info[6].As<Napi::Object>().Get("l2wrap");
      if (!l2.IsUndefined()) {
        if (!l2.IsBoolean()) throw Napi::TypeError::New(env, "opts.l2wrap must be a boolean");
        opt.l2wrap = l2.As<Napi::Boolean>().Value();
      }
    } else if (!info[6].IsUndefined()) {
      throw Napi::TypeError::New(env, "opts must be an object { l2wrap: boolean }");
    }
    const Cancel cancel = cancel_of(info[7]);
    auto model = model_;
    auto result = std::make_shared<LossResult>();
    return PromiseWorker::Run(
        env, keep({info[0], info[1], info[4], info[5], info[7]}),
        [=] { *result = model->loss_and_grad(inputs, targets, B, T, s0, grad, opt, cancel); },
        [result](Napi::Env e) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("lossSum", result->loss_sum);
          o.Set("nTargets", double(result->n_targets));
          return o;
        });
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

Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Config cfg = config_of(info[0]);
  auto weights = Napi::Array::New(env);
  const TensorMap tensors = tensors_of(info[1], weights);
  std::string device = "cpu";
  if (!info[2].IsUndefined()) {
    if (!info[2].IsString()) throw Napi::TypeError::New(env, "device must be \"cpu\" or \"cuda\"");
    device = info[2].As<Napi::String>().Utf8Value();
  }
  // opts.quant: nf4/int8 frozen matrices, a CUDA-backend option (spec §3.9).
  std::string quant = "none";
  if (info[3].IsObject() && info[3].As<Napi::Object>().Has("quant")) {
    auto q = info[3].As<Napi::Object>().Get("quant");
    if (!q.IsUndefined()) {
      if (!q.IsString()) throw Napi::TypeError::New(env, "opts.quant must be \"none\", \"nf4\" or \"int8\"");
      quant = q.As<Napi::String>().Utf8Value();
    }
  }
  if (quant != "none" && quant != "nf4" && quant != "int8")
    throw Napi::TypeError::New(env, "opts.quant must be \"none\", \"nf4\" or \"int8\", got \"" + quant + "\"");
  if (quant != "none" && device != "cuda")
    throw Napi::Error::New(env, "quant \"" + quant + "\" needs device \"cuda\": the CPU runtime keeps bf16/fp32 weights (bf16 already halves their memory)");
  std::shared_ptr<Model> model;
  if (device == "cpu") {
    model = guard(env, [&] { return std::shared_ptr<Model>(make_model(cfg, tensors)); });
  } else if (device == "cuda") {
#ifdef RWKV_WITH_CUDA
    rwkv::cuda::QuantOptions qo;
    qo.quant = quant == "nf4" ? rwkv::cuda::Quant::NF4 : quant == "int8" ? rwkv::cuda::Quant::Int8 : rwkv::cuda::Quant::None;
    model = guard(env, [&] {
      make_model(cfg, tensors);  // the CPU loader checks every key and shape, naming the key
      return std::shared_ptr<Model>(rwkv::cuda::make_model_cuda(cfg, tensors, qo));
    });
#else
    throw Napi::Error::New(env, "this build has no CUDA backend (no CUDA toolkit was found when the native runtime was built)");
#endif
  } else {
    throw Napi::TypeError::New(env, "device must be \"cpu\" or \"cuda\", got \"" + device + "\"");
  }
  auto obj = model_ctor->New({});
  ModelWrap::Unwrap(obj)->Init(std::move(model), weights);
  return obj;
}

double number_of(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("adamStep: opts.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// adamStep(p, m, v, g, {lr, beta1, beta2, eps, step}): synchronous (a few MB at most).
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "p must be a Float32Array");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  float* p = typed_ptr<float>(info[0], "p");
  float* m = typed_ptr<float>(info[1], "m", n);
  float* v = typed_ptr<float>(info[2], "v", n);
  const float* g = typed_ptr<float>(info[3], "g", n);
  if (!info[4].IsObject()) throw Napi::TypeError::New(env, "adamStep: opts must be an object {lr, beta1, beta2, eps, step}");
  auto o = info[4].As<Napi::Object>();
  AdamParams a;
  a.lr = number_of(o, "lr"); a.beta1 = number_of(o, "beta1"); a.beta2 = number_of(o, "beta2"); a.eps = number_of(o, "eps");
  const double step = number_of(o, "step");
  if (step < 1 || step != std::floor(step)) throw Napi::RangeError::New(env, "adamStep: opts.step must be an integer ≥ 1");
  if (!(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1))
    throw Napi::RangeError::New(env, "adamStep: opts.beta1 and opts.beta2 must be in [0, 1)");
  a.step = long(step);
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

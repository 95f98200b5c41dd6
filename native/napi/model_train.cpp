// NativeModel's training surface: setTraining, forwardTrain -> handle, backward(handle, dLogprobs,
// dValues), step (clip + AdamW), zeroGrad, and tensor export/import under Hugging Face / PEFT names
// (checkpoints are written by lib/policy/checkpoint.ts from these).
// Subtle: a handle is a process-wide id (an atomic counter), taken out of the map by the first
// backward that names it, so a used or foreign handle is a typed HandleInvalid error; every heavy
// call runs on a worker holding the model's op lock.
#include <atomic>
#include <cstring>

#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/model_wrap.h"
#include "napi/tensor_args.h"

namespace glam::napi {
namespace {

std::atomic<uint64_t> g_next_handle{1};

class ForwardTrainWorker : public CodedWorker {
 public:
  ForwardTrainWorker(Napi::Env env, std::shared_ptr<Engine> e, PackedBatch b)
      : CodedWorker(env), e_(std::move(e)), b_(std::move(b)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    GLAM_CHECK(e_->train != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
    auto h = std::make_unique<TrainHandle>();
    h->fc.layers = std::move(e_->spare_layers);
    auto head = e_->head_snapshot();
    r_ = score_fused(*e_->model, *head, b_, false, h.get());
    bytes_ = h->bytes();
    tokens_ = h->fc.T;
    id_ = g_next_handle.fetch_add(1);
    std::lock_guard<std::mutex> hl(e_->handles_mu);
    e_->handles[id_] = std::move(h);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object o = score_object(env, r_, false);
    o.Set("handle", Napi::Number::New(env, double(id_)));
    o.Set("cacheBytes", Napi::Number::New(env, double(bytes_)));
    o.Set("tokens", Napi::Number::New(env, double(tokens_)));
    deferred_.Resolve(o);
  }

 private:
  std::shared_ptr<Engine> e_;
  PackedBatch b_;
  ScoreResult r_;
  uint64_t id_ = 0;
  size_t bytes_ = 0;
  int64_t tokens_ = 0;
};

class BackwardWorker : public CodedWorker {
 public:
  BackwardWorker(Napi::Env env, std::shared_ptr<Engine> e, std::unique_ptr<TrainHandle> h, std::vector<float> dl,
                 std::vector<float> dv)
      : CodedWorker(env), e_(std::move(e)), h_(std::move(h)), dl_(std::move(dl)), dv_(std::move(dv)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    GLAM_CHECK(e_->train != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
    auto head = e_->head_snapshot();
    train_backward(*e_->model, *head, e_->train->grads, e_->train->vgrads, *h_, dl_.data(), dv_.data());
    e_->spare_layers = std::move(h_->fc.layers);
    h_.reset();
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  std::shared_ptr<Engine> e_;
  std::unique_ptr<TrainHandle> h_;
  std::vector<float> dl_, dv_;
};

class StepWorker : public CodedWorker {
 public:
  StepWorker(Napi::Env env, std::shared_ptr<Engine> e, AdamWOptions o) : CodedWorker(env), e_(std::move(e)), o_(o) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    GLAM_CHECK(e_->train != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
    auto head = e_->head_snapshot();
    norm_ = e_->train->adamw_step(*e_->model, *head, o_);
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), norm_)); }

 private:
  std::shared_ptr<Engine> e_;
  AdamWOptions o_;
  double norm_ = 0;
};

// The Weights / ValueHead that `what` names: params, grads, exp_avg, exp_avg_sq.
struct Target {
  Weights* w;
  ValueHead* head;
};

Target target_of(Engine& e, const std::string& what) {
  if (what == "params") return {&e.model->mutable_weights(), e.head.get()};
  GLAM_CHECK(e.train != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (what == "grads") return {&e.train->grads, &e.train->vgrads};
  if (what == "exp_avg" || what == "exp_avg_sq") {
    e.train->ensure_moments(*e.model, *e.head);
    return what == "exp_avg" ? Target{&e.train->m, &e.train->vm} : Target{&e.train->v, &e.train->vv};
  }
  fail("InvalidArgument", "tensor set must be params, grads, exp_avg or exp_avg_sq");
}

std::map<std::string, HfTensor> value_head_tensors(const ValueHead& h) {
  std::map<std::string, HfTensor> out;
  for (size_t i = 0; i < h.weight.size(); ++i) {
    out["value_head." + std::to_string(2 * i) + ".weight"] = {{h.sizes[i + 1], h.sizes[i]}, h.weight[i]};
    out["value_head." + std::to_string(2 * i) + ".bias"] = {{h.sizes[i + 1]}, h.bias[i]};
  }
  return out;
}

}  // namespace

Napi::Value ModelWrap::SetTraining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  Napi::Object o = obj_arg(info, 0, "training options");
  TrainOptions t;
  Napi::Value mode = o.Get("mode");
  const std::string m = mode.IsString() ? mode.As<Napi::String>().Utf8Value() : "full";
  GLAM_CHECK(m == "full" || m == "lora", "InvalidArgument", "training mode must be 'full' or 'lora'");
  t.lora = m == "lora";
  t.rank = int64_t(num(o, "rank", 8));
  t.alpha = num(o, "alpha", 16);
  t.seed = uint64_t(num(o, "seed", 0));
  t.freeze_embeddings = flag(o, "freezeEmbeddings", false);
  t.freeze_lm_head = flag(o, "freezeLmHead", false);
  Napi::Value tg = o.Get("targets");
  if (tg.IsArray()) {
    Napi::Array a = tg.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      GLAM_CHECK(a.Get(i).IsString(), "InvalidArgument", "LoRA targets must be module names (strings)");
      t.targets.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
  }
  std::lock_guard<std::mutex> lk(e->mu);
  GLAM_CHECK(e->train == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  e->train = std::make_unique<TrainState>(*e->model, *e->head_snapshot(), t);
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::ForwardTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  auto* w = new ForwardTrainWorker(env, e, batch_arg(info, 0));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  GLAM_CHECK(info.Length() >= 3 && info[0].IsNumber(), "InvalidArgument", "backward(handle, dLogprobs, dValues)");
  const uint64_t id = uint64_t(info[0].As<Napi::Number>().DoubleValue());
  std::vector<float> dl = f32(info[1], "dLogprobs"), dv = f32(info[2], "dValues");
  std::unique_ptr<TrainHandle> h;
  {
    std::lock_guard<std::mutex> hl(e->handles_mu);
    auto it = e->handles.find(id);
    GLAM_CHECK(it != e->handles.end(), "HandleInvalid",
               "this handle was already used by a backward, or belongs to another model; run forward({grad: true}) again");
    GLAM_CHECK(int64_t(dl.size()) == it->second->N && int64_t(dv.size()) == it->second->B, "InvalidArgument",
               "dLogprobs needs one entry per candidate (" + std::to_string(it->second->N) + ") and dValues one per prompt (" +
                   std::to_string(it->second->B) + ")");
    h = std::move(it->second);
    e->handles.erase(it);
  }
  auto* w = new BackwardWorker(env, e, std::move(h), std::move(dl), std::move(dv));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  Napi::Object o = obj_arg(info, 0, "step options");
  AdamWOptions a;
  a.lr = num(o, "lr", 0, true);
  a.beta1 = num(o, "beta1", 0.9);
  a.beta2 = num(o, "beta2", 0.999);
  a.eps = num(o, "eps", 1e-8);
  a.weight_decay = num(o, "weightDecay", 0);
  a.max_grad_norm = num(o, "maxGradNorm", 0);
  auto* w = new StepWorker(env, e, a);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  std::lock_guard<std::mutex> lk(e->mu);
  GLAM_CHECK(e->train != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  e->train->zero_grad();
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

// exportTensors(what: params|grads|exp_avg|exp_avg_sq, scope: model|lora|value_head)
//   -> { [hfName]: { shape: number[], data: Float32Array } }
Napi::Value ModelWrap::ExportTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  GLAM_CHECK(info.Length() >= 2 && info[0].IsString() && info[1].IsString(), "InvalidArgument",
             "exportTensors(what, scope)");
  const std::string what = info[0].As<Napi::String>().Utf8Value(), scope = info[1].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> lk(e->mu);
  Target t = target_of(*e, what);
  std::map<std::string, HfTensor> m;
  if (scope == "model") m = export_hf(e->model->config(), *t.w, false);
  else if (scope == "lora") m = export_hf(e->model->config(), *t.w, true);
  else if (scope == "value_head") m = value_head_tensors(*t.head);
  else fail("InvalidArgument", "scope must be model, lora or value_head");
  Napi::Object out = Napi::Object::New(env);
  for (auto& [name, ht] : m) {
    Napi::Object o = Napi::Object::New(env);
    Napi::Array shape = Napi::Array::New(env, ht.shape.size());
    for (size_t i = 0; i < ht.shape.size(); ++i) shape.Set(uint32_t(i), Napi::Number::New(env, double(ht.shape[i])));
    o.Set("shape", shape);
    o.Set("data", to_typed<float, Napi::Float32Array>(env, ht.data));
    out.Set(name, o);
  }
  return out;
  GLAM_NAPI_CATCH(env)
}

// importTensors(what: params|exp_avg|exp_avg_sq, scope: model|lora|value_head, tensors): the inverse of
// exportTensors. For scope model, every tensor of the architecture must be given (zeros for frozen ones).
Napi::Value ModelWrap::ImportTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  GLAM_CHECK(info.Length() >= 3 && info[0].IsString() && info[1].IsString() && info[2].IsObject(), "InvalidArgument",
             "importTensors(what, scope, tensors)");
  const std::string what = info[0].As<Napi::String>().Utf8Value(), scope = info[1].As<Napi::String>().Utf8Value();
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  Napi::Object src = info[2].As<Napi::Object>();
  auto get = [&](const std::string& name, size_t n) -> std::vector<float> {
    Napi::Value v = src.Get(name);
    GLAM_CHECK(v.IsObject(), "TensorMissing", "tensor '" + name + "' is missing");
    std::vector<float> d = f32(v.As<Napi::Object>().Get("data"), "tensor '" + name + "' data");
    GLAM_CHECK(d.size() == n, "TensorShapeMismatch",
               "tensor '" + name + "' has " + std::to_string(d.size()) + " values, expected " + std::to_string(n));
    return d;
  };
  std::lock_guard<std::mutex> lk(e->mu);
  Target t = target_of(*e, what);
  if (scope == "value_head") {
    for (size_t i = 0; i < t.head->weight.size(); ++i) {
      t.head->weight[i] = get("value_head." + std::to_string(2 * i) + ".weight", t.head->weight[i].size());
      t.head->bias[i] = get("value_head." + std::to_string(2 * i) + ".bias", t.head->bias[i].size());
    }
  } else if (scope == "lora") {
    for (LayerWeights& l : t.w->layers)
      for (auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
        for (LoraAdapter& a : *list) {
          a.A = get("base_model.model." + a.module + ".lora_A.weight", size_t(a.rank * a.in_n));
          a.B = get("base_model.model." + a.module + ".lora_B.weight", size_t(a.out_n * a.rank));
        }
  } else if (scope == "model") {
    // Rebuild through the loader (which knows the fused layout), then copy what the target holds.
    std::vector<std::vector<float>> keep;
    std::map<std::string, RawTensor> raw;
    Napi::Array names = src.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Object o = src.Get(name).As<Napi::Object>();
      keep.push_back(f32(o.Get("data"), "tensor '" + name + "' data"));
      RawTensor r;
      r.dtype = "F32";
      Napi::Array sa = o.Get("shape").As<Napi::Array>();
      for (uint32_t j = 0; j < sa.Length(); ++j) r.shape.push_back(int64_t(sa.Get(j).As<Napi::Number>().DoubleValue()));
      r.data = reinterpret_cast<const uint8_t*>(keep.back().data());
      r.nbytes = keep.back().size() * sizeof(float);
      raw[name] = r;
    }
    Weights loaded = load_weights(e->model->config(), raw);
    auto from = param_list(loaded), to = param_list(*t.w);
    for (size_t k = 0; k < param_list_base_size(loaded); ++k)
      if (!to[k]->empty()) *to[k] = std::move(*from[k]);
  } else {
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::TrainInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  std::lock_guard<std::mutex> lk(e->mu);
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", e->train != nullptr);
  if (e->train) {
    if (info.Length() > 0 && info[0].IsNumber()) e->train->step = int64_t(info[0].As<Napi::Number>().DoubleValue());
    o.Set("step", double(e->train->step));
    o.Set("mode", e->train->options().lora ? "lora" : "full");
    o.Set("trainableParams", double(e->train->trainable_params()));
    o.Set("stateBytes", double(e->train->bytes()));
    std::lock_guard<std::mutex> hl(e->handles_mu);
    o.Set("openHandles", double(e->handles.size()));
  }
  return o;
  GLAM_NAPI_CATCH(env)
}

}  // namespace glam::napi

// NativeModel's training surface: setTraining, forwardTrain -> handle, backward(handle, dLogprobs,
// dValues), step (clip + AdamW), zeroGrad, tensor export/import under Hugging Face / PEFT names
// (checkpoints are written by lib/policy/checkpoint.ts from these), and gradients / setGradients: every
// trainable gradient as one flat buffer, for data-parallel learners (lib/ppo/learners.ts).
// Subtle: a handle is a process-wide id (an atomic counter), taken out of the map by the first
// backward that names it, so a used or foreign handle is a typed HandleInvalid error; every heavy
// call (gradients and setGradients included) runs on a worker holding the model's op lock.
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/model_wrap.h"
#include "napi/tensor_args.h"

namespace glam::napi {
namespace {

std::atomic<uint64_t> g_next_handle{1};

class ForwardTrainWorker : public CodedWorker {
 public:
  ForwardTrainWorker(Napi::Env env, std::shared_ptr<ModelHolder> e, PackedBatch b)
      : CodedWorker(env), e_(std::move(e)), b_(std::move(b)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    auto head = e_->head_snapshot();
    std::unique_ptr<TrainPass> h = e_->engine->forward_train(b_, *head, r_);
    bytes_ = h->bytes();
    tokens_ = h->tokens();
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
  std::shared_ptr<ModelHolder> e_;
  PackedBatch b_;
  ScoreResult r_;
  uint64_t id_ = 0;
  size_t bytes_ = 0;
  int64_t tokens_ = 0;
};

class BackwardWorker : public CodedWorker {
 public:
  BackwardWorker(Napi::Env env, std::shared_ptr<ModelHolder> e, std::unique_ptr<TrainPass> h, std::vector<float> dl,
                 std::vector<float> dv)
      : CodedWorker(env), e_(std::move(e)), h_(std::move(h)), dl_(std::move(dl)), dv_(std::move(dv)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    auto head = e_->head_snapshot();
    e_->engine->backward(*h_, *head, dl_.data(), dv_.data());
    h_.reset();
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  std::shared_ptr<ModelHolder> e_;
  std::unique_ptr<TrainPass> h_;
  std::vector<float> dl_, dv_;
};

class StepWorker : public CodedWorker {
 public:
  StepWorker(Napi::Env env, std::shared_ptr<ModelHolder> e, AdamWOptions o)
      : CodedWorker(env), e_(std::move(e)), o_(o) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    auto head = e_->head_snapshot();
    norm_ = e_->engine->step(o_, *head);
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), norm_)); }

 private:
  std::shared_ptr<ModelHolder> e_;
  AdamWOptions o_;
  double norm_ = 0;
};

// gradients(): reads the flat gradient buffer into the caller's Float32Array (kept alive by ref_ until
// the promise settles) or, without one, into a vector that becomes the result's memory (no copy on the
// JS thread). setGradients(): the inverse, from the caller's array. The length is checked here, under
// the op lock, since the engine knows it only once training is enabled.
class FlatGradientsWorker : public CodedWorker {
 public:
  FlatGradientsWorker(Napi::Env env, std::shared_ptr<ModelHolder> e, bool write, Napi::Float32Array a)
      : CodedWorker(env), e_(std::move(e)), write_(write) {
    if (!a.IsEmpty()) {
      ref_ = Napi::Persistent(a.As<Napi::Object>());
      data_ = a.Data();
      len_ = int64_t(a.ElementLength());
    }
  }

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    const char* call = write_ ? "setGradients()" : "gradients()";
    GLAM_CHECK(e_->engine->training(), "InvalidArgument", std::string(call) + " needs training: call enableTraining() first");
    const int64_t n = e_->engine->gradient_numel();
    if (!data_) {
      own_ = std::make_unique<std::vector<float>>(size_t(n));
      e_->engine->read_gradients(own_->data());
      return;
    }
    GLAM_CHECK(len_ == n, "InvalidArgument",
               std::string(write_ ? "setGradients(flat)" : "gradients(out)") + " needs a Float32Array of " + std::to_string(n) +
                   " values, got " + std::to_string(len_));
    if (write_) e_->engine->write_gradients(data_);
    else e_->engine->read_gradients(data_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (write_) return deferred_.Resolve(env.Undefined());
    if (!own_) return deferred_.Resolve(ref_.Value());
    const size_t n = own_->size();
    if (n == 0) return deferred_.Resolve(Napi::Float32Array::New(env, 0));
    std::vector<float>* v = own_.release();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, v->data(), n * sizeof(float),
                                                  [](Napi::Env, void*, std::vector<float>* p) { delete p; }, v);
    deferred_.Resolve(Napi::Float32Array::New(env, n, ab, 0));
  }

 private:
  std::shared_ptr<ModelHolder> e_;
  bool write_;
  Napi::ObjectReference ref_;
  float* data_ = nullptr;
  int64_t len_ = 0;
  std::unique_ptr<std::vector<float>> own_;
};

bool is_f32(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
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
  e->engine->enable_training(t, *e->head_snapshot());
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
  std::unique_ptr<TrainPass> h;
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
  e->engine->zero_grad();
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
  std::map<std::string, HfTensor> m = e->engine->export_tensors(what, scope, *e->head_snapshot());
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
  // every given tensor as { shape, data } (shape optional: the engine checks sizes)
  Napi::Object src = info[2].As<Napi::Object>();
  std::map<std::string, HfTensor> tensors;
  Napi::Array names = src.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = src.Get(name);
    GLAM_CHECK(v.IsObject(), "TensorMissing", "tensor '" + name + "' is missing");
    Napi::Object o = v.As<Napi::Object>();
    HfTensor t;
    t.data = f32(o.Get("data"), "tensor '" + name + "' data");
    Napi::Value sv = o.Get("shape");
    if (sv.IsArray()) {
      Napi::Array sa = sv.As<Napi::Array>();
      for (uint32_t j = 0; j < sa.Length(); ++j) t.shape.push_back(int64_t(sa.Get(j).As<Napi::Number>().DoubleValue()));
    }
    tensors[name] = std::move(t);
  }
  std::lock_guard<std::mutex> lk(e->mu);
  e->engine->import_tensors(what, scope, tensors, *e->head_snapshot());
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::TrainInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  std::lock_guard<std::mutex> lk(e->mu);
  const int64_t set_step = info.Length() > 0 && info[0].IsNumber() ? int64_t(info[0].As<Napi::Number>().DoubleValue()) : -1;
  const TrainStatus st = e->engine->train_status(set_step);
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", st.enabled);
  if (st.enabled) {
    o.Set("step", double(st.step));
    o.Set("mode", st.lora ? "lora" : "full");
    o.Set("trainableParams", double(st.trainable_params));
    o.Set("stateBytes", double(st.state_bytes));
    std::lock_guard<std::mutex> hl(e->handles_mu);
    o.Set("openHandles", double(e->handles.size()));
  }
  return o;
  GLAM_NAPI_CATCH(env)
}

// gradients(out?: Float32Array) -> Promise<Float32Array>: every trainable gradient as one flat buffer
// (Engine::read_gradients' order), written into `out` when given (its length must match).
// setGradients(flat: Float32Array) -> Promise<void>: the inverse (data-parallel training writes back
// the average). Both run on a worker; the array must not change until the promise settles.
Napi::Value ModelWrap::Gradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  const bool given = info.Length() > 0 && !info[0].IsUndefined();
  GLAM_CHECK(!given || is_f32(info[0]), "InvalidArgument", "gradients(out) takes a Float32Array (or nothing)");
  auto* w = new FlatGradientsWorker(env, e, false, given ? info[0].As<Napi::Float32Array>() : Napi::Float32Array());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::SetGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  GLAM_CHECK(info.Length() > 0 && is_f32(info[0]), "InvalidArgument", "setGradients(flat) needs a Float32Array");
  auto* w = new FlatGradientsWorker(env, e, true, info[0].As<Napi::Float32Array>());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

}  // namespace glam::napi

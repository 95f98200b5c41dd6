// NativeModel and its async workers: loadModel, score. See model_wrap.h.
// Subtle: LoadWorker holds a persistent reference to every tensor's Uint8Array until it is done,
// because it reads their bytes on the worker thread (lib/policy/policy.ts builds them privately
// and drops them after loading). The class constructor lives in each Node environment's instance
// data, so the addon also works from worker_threads.
#include "napi/model_wrap.h"

#include <map>

#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/tensor_args.h"

namespace glam::napi {

namespace {

class LoadWorker : public CodedWorker {
 public:
  LoadWorker(Napi::Env env, ModelConfig cfg, Napi::Object tensors, int threads)
      : CodedWorker(env), cfg_(std::move(cfg)), threads_(threads), raw_(raw_tensors(tensors, keep_)) {}

 protected:
  void Run() override {
    auto e = std::make_shared<Engine>();
    e->model = std::make_unique<Transformer>(cfg_, load_weights(cfg_, raw_), threads_);
    engine_ = e;
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    Napi::Object m = ModelWrap::NewInstance(Env());
    ModelWrap::Unwrap(m)->engine = engine_;
    keep_.clear();
    deferred_.Resolve(m);
  }

 private:
  ModelConfig cfg_;
  int threads_;
  std::vector<Napi::Reference<Napi::Uint8Array>> keep_;  // declared before raw_: filled by its initializer
  std::map<std::string, RawTensor> raw_;
  std::shared_ptr<Engine> engine_;
};

class ScoreWorker : public CodedWorker {
 public:
  ScoreWorker(Napi::Env env, std::shared_ptr<Engine> e, PackedBatch b, bool naive, bool hidden)
      : CodedWorker(env), e_(std::move(e)), b_(std::move(b)), naive_(naive), hidden_(hidden) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    auto head = e_->head_snapshot();
    r_ = naive_ ? score_naive(*e_->model, *head, b_, hidden_) : score_fused(*e_->model, *head, b_, hidden_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Resolve(score_object(env, r_, hidden_));
  }

 private:
  std::shared_ptr<Engine> e_;
  PackedBatch b_;
  bool naive_, hidden_;
  ScoreResult r_;
};

}  // namespace

Napi::Function ModelWrap::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeModel",
                                 {InstanceMethod("score", &ModelWrap::Score),
                                  InstanceMethod("setValueHead", &ModelWrap::SetValueHead),
                                  InstanceMethod("info", &ModelWrap::Info),
                                  InstanceMethod("dispose", &ModelWrap::Dispose),
                                  InstanceMethod("setTraining", &ModelWrap::SetTraining),
                                  InstanceMethod("forwardTrain", &ModelWrap::ForwardTrain),
                                  InstanceMethod("backward", &ModelWrap::Backward),
                                  InstanceMethod("step", &ModelWrap::Step),
                                  InstanceMethod("zeroGrad", &ModelWrap::ZeroGrad),
                                  InstanceMethod("exportTensors", &ModelWrap::ExportTensors),
                                  InstanceMethod("importTensors", &ModelWrap::ImportTensors),
                                  InstanceMethod("trainInfo", &ModelWrap::TrainInfo)});
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
  return f;
}

Napi::Object ModelWrap::NewInstance(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>()->New({}); }

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}

std::shared_ptr<Engine> ModelWrap::live(Napi::Env env) {
  if (!engine) throw coded_error(env, "Disposed", "this model was disposed (or never loaded); load it again");
  return engine;
}

Napi::Value ModelWrap::Score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  PackedBatch b = batch_arg(info, 0);
  const ScoreOptions so = score_options(info, 1);
  auto* w = new ScoreWorker(env, e, std::move(b), so.naive, so.hidden);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::SetValueHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  ValueHead h = value_head_arg(obj_arg(info, 0, "value head"), e->model->config().hidden);
  auto fresh = std::make_shared<ValueHead>(std::move(h));
  if (e->train) {  // the optimizer's buffers follow the new head (takes the op lock: training setup only)
    std::lock_guard<std::mutex> op(e->mu);
    e->train->reset_value_head(*fresh);
  }
  std::lock_guard<std::mutex> lk(e->head_mu);
  e->head = std::move(fresh);
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto e = live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", e->model->pool().size());
  o.Set("backend", "cpu");
  return o;
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  engine.reset();
  return info.Env().Undefined();
}

Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  Napi::Object tensors = obj_arg(info, 1, "tensors");
  int threads = 1;
  if (info.Length() > 2 && info[2].IsObject()) threads = int(num(info[2].As<Napi::Object>(), "threads", 1));
  if (threads < 1 || threads > 256) fail("InvalidArgument", "threads must be between 1 and 256");
  auto* w = new LoadWorker(env, std::move(cfg), tensors, threads);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

}  // namespace glam::napi

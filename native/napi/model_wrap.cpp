// NativeModel and its async workers: loadModel, score, setValueHead, info. See model_wrap.h.
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
  LoadWorker(Napi::Env env, ModelConfig cfg, Napi::Object tensors, LoadOptions o)
      : CodedWorker(env), cfg_(std::move(cfg)), o_(o), raw_(raw_tensors(tensors, keep_)) {}

 protected:
  void Run() override {
    auto h = std::make_shared<ModelHolder>();
    h->engine = make_engine(cfg_, raw_, o_);
    holder_ = h;
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    Napi::Object m = ModelWrap::NewInstance(Env());
    ModelWrap::Unwrap(m)->holder = holder_;
    keep_.clear();
    deferred_.Resolve(m);
  }
  void OnError(const Napi::Error& e) override {
    keep_.clear();
    CodedWorker::OnError(e);
  }

 private:
  ModelConfig cfg_;
  LoadOptions o_;
  std::vector<Napi::Reference<Napi::Uint8Array>> keep_;  // declared before raw_: filled by its initializer
  std::map<std::string, RawTensor> raw_;
  std::shared_ptr<ModelHolder> holder_;
};

class ScoreWorker : public CodedWorker {
 public:
  ScoreWorker(Napi::Env env, std::shared_ptr<ModelHolder> e, PackedBatch b, bool naive, bool hidden, int64_t top_n)
      : CodedWorker(env), e_(std::move(e)), b_(std::move(b)), naive_(naive), hidden_(hidden), top_n_(top_n) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(e_->mu);
    auto head = e_->head_snapshot();
    r_ = top_n_ > 0 ? e_->engine->score_top(b_, *head, hidden_, top_n_) : e_->engine->score(b_, *head, naive_, hidden_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Resolve(score_object(env, r_, hidden_));
  }

 private:
  std::shared_ptr<ModelHolder> e_;
  PackedBatch b_;
  bool naive_, hidden_;
  int64_t top_n_;
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
                                  InstanceMethod("trainInfo", &ModelWrap::TrainInfo),
                                  InstanceMethod("gradients", &ModelWrap::Gradients),
                                  InstanceMethod("setGradients", &ModelWrap::SetGradients)});
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
  return f;
}

Napi::Object ModelWrap::NewInstance(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>()->New({}); }

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}

std::shared_ptr<ModelHolder> ModelWrap::live(Napi::Env env) {
  if (!holder) throw coded_error(env, "Disposed", "this model was disposed (or never loaded); load it again");
  return holder;
}

Napi::Value ModelWrap::Score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  PackedBatch b = batch_arg(info, 0);
  const ScoreOptions so = score_options(info, 1);
  auto* w = new ScoreWorker(env, e, std::move(b), so.naive, so.hidden, so.top_n);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value ModelWrap::SetValueHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto e = live(env);
  ValueHead h = value_head_arg(obj_arg(info, 0, "value head"), e->engine->config().hidden);
  auto fresh = std::make_shared<ValueHead>(std::move(h));
  // An engine with its own copy (CUDA), or the optimizer's buffers, follow the new head: that takes
  // the op lock (waits for an operation in flight; the update is small).
  if (e->engine->holds_value_head() || e->engine->training()) {
    std::lock_guard<std::mutex> op(e->mu);
    e->engine->value_head_changed(*fresh);
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
  for (const auto& [k, v] : e->engine->info()) {
    if (v.is_str) o.Set(k, v.str);
    else o.Set(k, v.num);
  }
  return o;
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  holder.reset();
  return info.Env().Undefined();
}

Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  Napi::Object tensors = obj_arg(info, 1, "tensors");
  LoadOptions lo;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    lo.threads = int(num(o, "threads", 1));
    Napi::Value p = o.Get("precision");
    if (!p.IsUndefined()) {
      const std::string s = p.IsString() ? p.As<Napi::String>().Utf8Value() : "";
      if (s != "bf16" && s != "fp32") fail("InvalidArgument", "precision must be 'bf16' or 'fp32'");
      lo.dt = s == "fp32" ? DType::F32 : DType::BF16;
    }
    const double d = num(o, "device", 0);
    if (d < 0 || d > 1024 || d != double(int(d))) fail("InvalidArgument", "device must be a CUDA device index");
    lo.device = int(d);
  }
  if (lo.threads < 1 || lo.threads > 256) fail("InvalidArgument", "threads must be between 1 and 256");
  auto* w = new LoadWorker(env, std::move(cfg), tensors, lo);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

}  // namespace glam::napi

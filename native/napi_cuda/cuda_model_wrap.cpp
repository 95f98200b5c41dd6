// NativeModel on the GPU and its async workers (load, score); see cuda_model_wrap.h.
#include "napi_cuda/cuda_model_wrap.h"

#include "model/value_head.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/tensor_args.h"

namespace glam::napi {

namespace {

class CudaLoadWorker : public CodedWorker {
 public:
  CudaLoadWorker(Napi::Env env, ModelConfig cfg, Napi::Object tensors, cuda::DType dt, int device)
      : CodedWorker(env), cfg_(std::move(cfg)), dt_(dt), device_(device), raw_(raw_tensors(tensors, keep_)) {}

 protected:
  void Run() override {
    auto h = std::make_shared<CudaEngineHolder>();
    const Weights w = load_weights(cfg_, raw_);  // fp32 on the host, then uploaded once
    h->engine = std::make_unique<cuda::CudaEngine>(cfg_, w, dt_, device_);
    holder_ = h;
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    Napi::Object m = CudaModelWrap::NewInstance(Env());
    CudaModelWrap::Unwrap(m)->holder = holder_;
    keep_.clear();
    deferred_.Resolve(m);
  }
  void OnError(const Napi::Error& e) override {
    keep_.clear();
    CodedWorker::OnError(e);
  }

 private:
  ModelConfig cfg_;
  cuda::DType dt_;
  int device_;
  std::vector<Napi::Reference<Napi::Uint8Array>> keep_;  // declared before raw_: filled by its initializer
  std::map<std::string, RawTensor> raw_;
  std::shared_ptr<CudaEngineHolder> holder_;
};

class CudaScoreWorker : public CodedWorker {
 public:
  CudaScoreWorker(Napi::Env env, std::shared_ptr<CudaEngineHolder> h, PackedBatch b, bool naive, bool hidden)
      : CodedWorker(env), h_(std::move(h)), b_(std::move(b)), naive_(naive), hidden_(hidden) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lk(h_->mu);
    r_ = h_->engine->score(b_, naive_, hidden_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Resolve(score_object(env, r_, hidden_));
  }

 private:
  std::shared_ptr<CudaEngineHolder> h_;
  PackedBatch b_;
  bool naive_, hidden_;
  cuda::CudaScore r_;
};

}  // namespace

Napi::Function CudaModelWrap::Init(Napi::Env env) {
  std::vector<PropertyDescriptor> methods = {
      InstanceMethod("score", &CudaModelWrap::Score),       InstanceMethod("setValueHead", &CudaModelWrap::SetValueHead),
      InstanceMethod("info", &CudaModelWrap::Info),         InstanceMethod("dispose", &CudaModelWrap::Dispose),
      InstanceMethod("trainInfo", &CudaModelWrap::TrainInfo)};
  for (const char* m : {"setTraining", "forwardTrain", "backward", "step", "zeroGrad", "exportTensors", "importTensors"})
    methods.push_back(InstanceMethod(m, &CudaModelWrap::Training));
  Napi::Function f = DefineClass(env, "NativeModel", methods);
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
  return f;
}

Napi::Object CudaModelWrap::NewInstance(Napi::Env env) {
  return env.GetInstanceData<Napi::FunctionReference>()->New({});
}

CudaModelWrap::CudaModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaModelWrap>(info) {}

std::shared_ptr<CudaEngineHolder> CudaModelWrap::live(Napi::Env env) {
  if (!holder) throw coded_error(env, "Disposed", "this model was disposed (or never loaded); load it again");
  return holder;
}

Napi::Value CudaModelWrap::Score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto h = live(env);
  PackedBatch b = batch_arg(info, 0);
  const ScoreOptions so = score_options(info, 1);
  auto* w = new CudaScoreWorker(env, h, std::move(b), so.naive, so.hidden);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value CudaModelWrap::SetValueHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto h = live(env);
  const ValueHead vh = value_head_arg(obj_arg(info, 0, "value head"), h->engine->config().hidden);
  std::lock_guard<std::mutex> lk(h->mu);  // waits for a score in flight (the upload is small)
  h->engine->set_value_head(vh);
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value CudaModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = live(env);
  const cuda::EngineInfo i = h->engine->info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", 1);
  o.Set("backend", "cuda");
  o.Set("device", i.device);
  o.Set("precision", cuda::dtype_name(h->engine->dtype()));
  o.Set("weightBytes", double(i.weight_bytes));
  o.Set("workspaceBytes", double(i.workspace_bytes));
  o.Set("graphs", double(i.graphs));
  o.Set("graphReplays", double(i.graph_replays));
  return o;
}

Napi::Value CudaModelWrap::Dispose(const Napi::CallbackInfo& info) {
  holder.reset();
  return info.Env().Undefined();
}

Napi::Value CudaModelWrap::TrainInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", false);
  return o;
}

Napi::Value CudaModelWrap::Training(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);
  throw coded_error(env, "NotImplemented",
                    "training on the CUDA backend arrives with part 2 (issue 7); load the policy with device: 'cpu' to train");
}

Napi::Value CudaLoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  Napi::Object tensors = obj_arg(info, 1, "tensors");
  cuda::DType dt = cuda::DType::BF16;
  int device = 0;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    Napi::Value p = o.Get("precision");
    if (!p.IsUndefined()) {
      const std::string s = p.IsString() ? p.As<Napi::String>().Utf8Value() : "";
      if (s != "bf16" && s != "fp32") fail("InvalidArgument", "precision must be 'bf16' or 'fp32'");
      dt = s == "fp32" ? cuda::DType::F32 : cuda::DType::BF16;
    }
    const double d = num(o, "device", 0);
    if (d < 0 || d > 1024 || d != double(int(d))) fail("InvalidArgument", "device must be a CUDA device index");
    device = int(d);
  }
  auto* w = new CudaLoadWorker(env, std::move(cfg), tensors, dt, device);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

}  // namespace glam::napi

// NativeModel: the JS object that owns one loaded model — one wrapper and one set of async workers
// for both addons, over the Engine interface (model/engine.h). Each addon links its own make_engine
// (napi/load_cpu.cpp: the CPU engine; napi_cuda/load_cuda.cpp: the CUDA engine), so glam_cuda.node
// is this layer linked with the CUDA backend and the CPU addon never links CUDA.
// Declared to TS in lib/native/binding.ts. Subtle: the engine lives in a shared_ptr that every
// in-flight worker also holds, so dispose() during a score frees memory only when the score ends.
#pragma once
#include <napi.h>

#include <map>
#include <memory>
#include <mutex>

#include "backend/dtype.h"
#include "model/engine.h"
#include "model/value_head.h"
#include "model/weights.h"

namespace glam::napi {

struct ModelHolder {
  std::unique_ptr<Engine> engine;
  std::mutex mu;  // one native operation at a time per model
  // The value head is swapped under its own short lock, so setValueHead never waits for a score on
  // an engine that reads the head it is given; a score keeps the snapshot it started with. Only an
  // optimizer step (holding mu) changes it in place.
  std::shared_ptr<ValueHead> head = std::make_shared<ValueHead>();
  std::mutex head_mu;
  std::shared_ptr<ValueHead> head_snapshot() {
    std::lock_guard<std::mutex> lk(head_mu);
    return head;
  }
  // The forwards awaiting their backward, by process-wide id.
  std::mutex handles_mu;
  std::map<uint64_t, std::unique_ptr<TrainPass>> handles;
};

// loadModel's third argument: { threads } (CPU), { precision: 'bf16' | 'fp32', device } (CUDA).
struct LoadOptions {
  int threads = 1;
  DType dt = DType::BF16;
  int device = 0;
};
// Builds the addon's engine from Hugging Face tensors (runs on a worker thread). One per addon.
std::unique_ptr<Engine> make_engine(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors,
                                    const LoadOptions& o);

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  // The class constructor of the calling Node environment (main thread or a worker_thread).
  static Napi::Object NewInstance(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<ModelHolder> holder;

 private:
  Napi::Value Score(const Napi::CallbackInfo& info);
  Napi::Value SetValueHead(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  // training (model_train.cpp)
  Napi::Value SetTraining(const Napi::CallbackInfo& info);
  Napi::Value ForwardTrain(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value ExportTensors(const Napi::CallbackInfo& info);
  Napi::Value ImportTensors(const Napi::CallbackInfo& info);
  Napi::Value TrainInfo(const Napi::CallbackInfo& info);
  Napi::Value Gradients(const Napi::CallbackInfo& info);
  Napi::Value SetGradients(const Napi::CallbackInfo& info);
  std::shared_ptr<ModelHolder> live(Napi::Env env);
};

// addon.loadModel(config, tensors, options) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info);

}  // namespace glam::napi

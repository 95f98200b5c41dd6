// NativeModel: the JS object that owns one loaded model (a Transformer and its value head).
// Declared to TS in lib/native/binding.ts. Subtle: the engine lives in a shared_ptr that every
// in-flight worker also holds, so dispose() during a score frees memory only when the score ends.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include <map>

#include "model/scorer.h"
#include "model/training.h"
#include "model/transformer.h"
#include "model/value_head.h"

namespace glam::napi {

struct Engine {
  std::unique_ptr<Transformer> model;
  std::mutex mu;  // one native operation at a time per model
  // The value head is swapped under its own short lock, so setValueHead never waits for a score;
  // a score keeps the snapshot it started with. Only an optimizer step (holding mu) changes it in place.
  std::shared_ptr<ValueHead> head = std::make_shared<ValueHead>();
  std::mutex head_mu;
  std::shared_ptr<ValueHead> head_snapshot() {
    std::lock_guard<std::mutex> lk(head_mu);
    return head;
  }
  // Training (null until setTraining) and the forwards awaiting their backward, by process-wide id.
  std::unique_ptr<TrainState> train;
  std::mutex handles_mu;
  std::map<uint64_t, std::unique_ptr<TrainHandle>> handles;
  // Layer caches of the last consumed handle, recycled by the next training forward (guarded by mu).
  std::vector<LayerCache> spare_layers;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  // The class constructor of the calling Node environment (main thread or a worker_thread).
  static Napi::Object NewInstance(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<Engine> engine;

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
  std::shared_ptr<Engine> live(Napi::Env env);
};

// addon.loadModel(config, tensors, { threads }) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info);


}  // namespace glam::napi

// The CUDA addon's NativeModel: one CudaEngine behind the same JS interface as the CPU addon's
// (lib/native/binding.ts NativeModel), so Policy.score works unchanged. Training entry points throw
// NotImplemented until part 2 (issue 7).
// Subtle: the engine lives in a shared_ptr that every in-flight worker also holds, so dispose()
// during a score frees GPU memory only when the score ends; one operation per model at a time (mu).
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include "cuda/cuda_engine.h"

namespace glam::napi {

struct CudaEngineHolder {
  std::unique_ptr<cuda::CudaEngine> engine;
  std::mutex mu;
};

class CudaModelWrap : public Napi::ObjectWrap<CudaModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env);
  explicit CudaModelWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<CudaEngineHolder> holder;

 private:
  Napi::Value Score(const Napi::CallbackInfo& info);
  Napi::Value SetValueHead(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value TrainInfo(const Napi::CallbackInfo& info);
  Napi::Value Training(const Napi::CallbackInfo& info);  // setTraining, forwardTrain, backward, step, ...
  std::shared_ptr<CudaEngineHolder> live(Napi::Env env);
};

// addon.loadModel(config, tensors, { precision: 'bf16' | 'fp32', device?: number }) -> Promise<NativeModel>
Napi::Value CudaLoadModel(const Napi::CallbackInfo& info);

}  // namespace glam::napi

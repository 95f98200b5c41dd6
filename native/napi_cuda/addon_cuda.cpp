// The CUDA addon's module init: exports only. The whole surface is declared to TypeScript in
// lib/native/binding.ts (the one file that loads .node files), beside the CPU addon's.
//   backend: 'cuda'
//   deviceCount() -> { count, reason }   0 and a reason without a driver or GPU (require() still works)
//   loadModel(config, tensors, { precision, device }) -> Promise<NativeModel> (the shared wrapper,
//   napi/model_wrap.h, over the CUDA engine: load_cuda.cpp)
// The kernel test hooks live in the test addon glam_cuda_test.node (native/napi_cuda_test), never here:
// test/native/cuda-addon.test.ts asserts this export list.
#include <napi.h>

#include "cuda/cuda_engine.h"
#include "napi/model_wrap.h"

namespace {

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string why;
  const int n = glam::cuda::device_count(why);
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", n);
  o.Set("reason", why);
  if (n > 0) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
      o.Set("name", std::string(prop.name));
      o.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
      o.Set("memoryBytes", double(prop.totalGlobalMem));
    } else {
      cudaGetLastError();
    }
  }
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backend", Napi::String::New(env, "cuda"));
  exports.Set("NativeModel", glam::napi::ModelWrap::Init(env));
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount));
  exports.Set("loadModel", Napi::Function::New(env, glam::napi::LoadModel));
  return exports;
}

}  // namespace

NODE_API_MODULE(glam_cuda, Init)

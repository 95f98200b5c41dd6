// The CPU addon's module init: exports only. The whole surface is declared to TypeScript in
// lib/native/binding.ts, which is the one file that loads this .node.
#include <napi.h>

#include "napi/model_wrap.h"

void register_op_exports(Napi::Env env, Napi::Object exports);  // ops_exports.cpp: op-level test hooks
namespace glam::napi {
void register_plan_exports(Napi::Env env, Napi::Object exports);  // plan_exports.cpp: the CUDA backend's host planning
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backend", Napi::String::New(env, "cpu"));
  exports.Set("NativeModel", glam::napi::ModelWrap::Init(env));
  exports.Set("loadModel", Napi::Function::New(env, glam::napi::LoadModel));
  register_op_exports(env, exports);
  glam::napi::register_plan_exports(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(glam_cpu, Init)

// The CPU addon's module init: exports only. The whole surface is declared to TypeScript in
// lib/native/binding.ts, which is the one file that loads this .node. Test hooks (GEMM parity, the
// OpenBLAS comparison, the CUDA backend's host planning) live in the test addon glam_cpu_test.node
// (native/napi_test), never here: test/native/cuda-addon.test.ts asserts this export list.
#include <napi.h>

#include "napi/family_table.h"
#include "napi/model_wrap.h"
#include "napi/t5_table.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backend", Napi::String::New(env, "cpu"));
  exports.Set("NativeModel", glam::napi::ModelWrap::Init(env));
  exports.Set("loadModel", Napi::Function::New(env, glam::napi::LoadModel));
  exports.Set("familyTable", Napi::Function::New(env, glam::napi::FamilyTable));
  exports.Set("t5Table", Napi::Function::New(env, glam::napi::T5Table));
  return exports;
}

}  // namespace

NODE_API_MODULE(glam_cpu, Init)

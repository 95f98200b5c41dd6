// The CPU test addon's module init (glam_cpu_test.node): the hooks that tests and benchmarks call
// and the library never does, kept out of the production addon glam_cpu.node.
//   ops: GEMM parity, the OpenBLAS comparison, the FMA peak (ops_exports.cpp)
//   plan: the CUDA backend's host planning, pure C++, so it is tested on every machine (plan_exports.cpp)
//   t5: T5's relative buckets and encoder output, for the T5 tests (t5_exports.cpp)
// lib/native/test-hooks.ts is the one file that loads it and declares its interface. It is built
// beside the production addon by scripts/build-native.mjs in a checkout (GLAM_TEST_HOOKS), not in
// an installed package.
#include <napi.h>

namespace glam::napi {
void register_op_exports(Napi::Env env, Napi::Object exports);    // ops_exports.cpp
void register_plan_exports(Napi::Env env, Napi::Object exports);  // plan_exports.cpp
void register_t5_exports(Napi::Env env, Napi::Object exports);    // t5_exports.cpp
}  // namespace glam::napi

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  glam::napi::register_op_exports(env, exports);
  glam::napi::register_plan_exports(env, exports);
  glam::napi::register_t5_exports(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(glam_cpu_test, Init)

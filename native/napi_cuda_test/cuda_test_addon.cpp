// The CUDA test addon's module init (glam_cuda_test.node): one synchronous hook per kernel and the
// GEMM rate, for the GPU parity tests and bench/gpu, kept out of the production addon glam_cuda.node.
//   ops: forwards and GEMMs (cuda_ops_exports.cpp), backwards (cuda_backward_exports.cpp), the value
//        head's backward and AdamW (cuda_optimizer_exports.cpp), T5's activations and attention
//        variants through CudaBackend (cuda_t5_exports.cpp)
// lib/native/test-hooks.ts is the one file that loads it and declares its interface. It links the
// same kernels as the production addon (cmake/cuda.cmake: one object library for both) and, like
// it, loads without a GPU or driver.
#include <napi.h>

namespace glam::napi {
void register_cuda_op_exports(Napi::Env env, Napi::Object exports);  // cuda_ops_exports.cpp
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  glam::napi::register_cuda_op_exports(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(glam_cuda_test, Init)

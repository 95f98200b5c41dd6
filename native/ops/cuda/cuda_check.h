// CUDA and cuBLASLt status checks that throw GlamError("CudaError", ...) instead of exiting: the
// addon must never take Node down (llm.c's cudaCheck -> exit() is right for a binary, not a library).
// defines: CUDA_CHECK, CUBLAS_CHECK, CUDA_LAUNCH_CHECK, DType, dtype_size, dtype_name
// Subtle: an out-of-memory status becomes a message that says so; a sticky error (a kernel fault)
// poisons the context, and the message says the process must be restarted to use the GPU again.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "backend/dtype.h"
#include "common/error.h"

namespace glam::cuda {

// Element type of weights and GEMM inputs: bf16 (default precision) or fp32 (parity checks).
using glam::DType;  // backend/dtype.h
using glam::dtype_size;
inline const char* dtype_name(DType t) { return t == DType::F32 ? "fp32" : "bf16"; }

[[noreturn]] inline void cuda_fail(cudaError_t e, const char* what, const char* file, int line) {
  std::string msg = std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ") in " + what + " at " + file +
                    ":" + std::to_string(line);
  if (e == cudaErrorMemoryAllocation) msg = "out of GPU memory: " + msg + "; score a smaller batch or free the GPU";
  const cudaError_t sticky = cudaPeekAtLastError();
  cudaGetLastError();  // clears non-sticky errors
  if (sticky != cudaSuccess && sticky != cudaErrorMemoryAllocation && cudaDeviceSynchronize() != cudaSuccess)
    msg += "; the CUDA context is broken: restart the process to use the GPU again";
  throw GlamError("CudaError", msg);
}

inline void cuda_check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) cuda_fail(e, what, file, line);
}

inline void cublas_check(int status, const char* what, const char* file, int line) {
  if (status != 0)
    throw GlamError("CudaError", "cuBLASLt status " + std::to_string(status) + " in " + what + " at " + file + ":" +
                                     std::to_string(line));
}

}  // namespace glam::cuda

#define CUDA_CHECK(x) ::glam::cuda::cuda_check((x), #x, __FILE__, __LINE__)
#define CUBLAS_CHECK(x) ::glam::cuda::cublas_check(int(x), #x, __FILE__, __LINE__)
#define CUDA_LAUNCH_CHECK() ::glam::cuda::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

// The CUDA addon's engine: what the shared NativeModel wrapper (napi/model_wrap.h) runs in
// glam_cuda.node — the decoder-only engine (cuda/cuda_engine.h) or, for T5ForConditionalGeneration,
// the T5 engine (cuda/cuda_t5_engine.h) over the same backend. The weights are built in fp32 on the
// host, then uploaded once (each host tensor freed as soon as the device holds it).
#include "common/error.h"
#include "cuda/cuda_engine.h"
#include "cuda/cuda_t5_engine.h"
#include "napi/model_wrap.h"

namespace glam::napi {

std::unique_ptr<Engine> make_engine(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors,
                                    const LoadOptions& o) {
  if (cfg.family == Family::T5)
    return std::make_unique<cuda::CudaT5Engine>(cfg, load_t5_weights(cfg, tensors), o.dt, o.device);
  return std::make_unique<cuda::CudaEngine>(cfg, load_weights(cfg, tensors), o.dt, o.device);
}

}  // namespace glam::napi

// The CUDA addon's engine: what the shared NativeModel wrapper (napi/model_wrap.h) runs in
// glam_cuda.node. The weights are built in fp32 on the host, then uploaded once (each host tensor
// freed as soon as the device holds it).
#include "cuda/cuda_engine.h"
#include "napi/model_wrap.h"

namespace glam::napi {

std::unique_ptr<Engine> make_engine(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors,
                                    const LoadOptions& o) {
  return std::make_unique<cuda::CudaEngine>(cfg, load_weights(cfg, tensors), o.dt, o.device);
}

}  // namespace glam::napi

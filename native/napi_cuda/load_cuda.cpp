// The CUDA addon's engine: what the shared NativeModel wrapper (napi/model_wrap.h) runs in
// glam_cuda.node. The weights are built in fp32 on the host, then uploaded once (each host tensor
// freed as soon as the device holds it).
#include "cuda/cuda_engine.h"
#include "common/error.h"
#include "napi/model_wrap.h"

namespace glam::napi {

std::unique_ptr<Engine> make_engine(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors,
                                    const LoadOptions& o) {
  // T5 needs the encoder-decoder attention variants and T5's activations, which the CUDA backend
  // does not have yet: refuse rather than run another architecture's code
  GLAM_CHECK(cfg.family != Family::T5, "UnsupportedArchitecture",
             "T5 runs on the CPU engine only for now; load it with device 'cpu'");
  return std::make_unique<cuda::CudaEngine>(cfg, load_weights(cfg, tensors), o.dt, o.device);
}

}  // namespace glam::napi

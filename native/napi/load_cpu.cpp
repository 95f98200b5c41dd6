// The CPU addon's engine: what the shared NativeModel wrapper (model_wrap.h) runs in glam_cpu.node.
#include "model/cpu_engine.h"
#include "model/t5_engine.h"
#include "napi/model_wrap.h"

namespace glam::napi {

std::unique_ptr<Engine> make_engine(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors,
                                    const LoadOptions& o) {
  if (cfg.family == Family::T5) return std::make_unique<T5Engine>(cfg, load_t5_weights(cfg, tensors), o.threads);
  return std::make_unique<CpuEngine>(cfg, load_weights(cfg, tensors), o.threads);
}

}  // namespace glam::napi

// The engines' shared tensor plumbing (names, checks); see engine.h.
#include "model/engine.h"

#include "common/error.h"

namespace glam {

ScoreResult Engine::score_top(const PackedBatch&, const ValueHead&, bool, int64_t) {
  fail("NotImplemented", "this engine does not compute top-N alternatives over the vocabulary; score without topN");
}

const std::vector<float>& tensor_from(const std::map<std::string, HfTensor>& src, const std::string& name, size_t n) {
  auto it = src.find(name);
  GLAM_CHECK(it != src.end(), "TensorMissing", "tensor '" + name + "' is missing");
  GLAM_CHECK(it->second.data.size() == n, "TensorShapeMismatch",
             "tensor '" + name + "' has " + std::to_string(it->second.data.size()) + " values, expected " +
                 std::to_string(n));
  return it->second.data;
}

std::map<std::string, HfTensor> value_head_tensors(const ValueHead& h) {
  std::map<std::string, HfTensor> out;
  for (size_t i = 0; i < h.weight.size(); ++i) {
    out["value_head." + std::to_string(2 * i) + ".weight"] = {{h.sizes[i + 1], h.sizes[i]}, h.weight[i]};
    out["value_head." + std::to_string(2 * i) + ".bias"] = {{h.sizes[i + 1]}, h.bias[i]};
  }
  return out;
}

void import_value_head(ValueHead& h, const std::map<std::string, HfTensor>& src) {
  for (size_t i = 0; i < h.weight.size(); ++i) {
    h.weight[i] = tensor_from(src, "value_head." + std::to_string(2 * i) + ".weight", h.weight[i].size());
    h.bias[i] = tensor_from(src, "value_head." + std::to_string(2 * i) + ".bias", h.bias[i].size());
  }
}

Weights weights_from(const ModelConfig& cfg, const std::map<std::string, HfTensor>& src) {
  std::map<std::string, RawTensor> raw;
  for (const auto& [name, t] : src) {
    RawTensor r;
    r.dtype = "F32";
    r.shape = t.shape;
    r.data = reinterpret_cast<const uint8_t*>(t.data.data());
    r.nbytes = t.data.size() * sizeof(float);
    raw[name] = r;
  }
  return load_weights(cfg, raw);
}

}  // namespace glam

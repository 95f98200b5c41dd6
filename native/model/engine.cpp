// The engines' shared tensor plumbing (names, checks); see engine.h.
#include "model/engine.h"

#include "common/error.h"

namespace glam {

ScoreResult Engine::score_top(const PackedBatch&, const ValueHead&, bool, int64_t) {
  fail("NotImplemented", "this engine does not compute top-N alternatives over the vocabulary; score without topN");
}

int64_t Engine::gradient_numel() { return train_state().flat_size(); }

void Engine::read_gradients(float* out) { train_state().flat_grads_to_host(out); }

void Engine::write_gradients(const float* in) { train_state().flat_grads_from_host(in); }

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

std::map<std::string, HfTensor> export_training(const ModelConfig& cfg, TrainState& t, StateTensor what,
                                                const std::string& scope, const ValueHead& head,
                                                const ValueHeadParams& hp) {
  if (scope == "model" || scope == "lora") return export_hf(cfg, t.download(what), scope == "lora");
  GLAM_CHECK(scope == "value_head", "InvalidArgument", "scope must be model, lora or value_head");
  return export_value_head_state(t, what, head, hp);
}

std::map<std::string, HfTensor> export_value_head_state(TrainState& t, StateTensor what, const ValueHead& head,
                                                        const ValueHeadParams& hp) {
  ValueHead v = head;  // shapes; values from the backend
  const std::vector<std::vector<float>> d = t.download_value_head(what, hp);
  for (size_t i = 0; i < v.weight.size(); ++i) {
    v.weight[i] = d[2 * i];
    v.bias[i] = d[2 * i + 1];
  }
  return value_head_tensors(v);
}

void import_training(const ModelConfig& cfg, TrainState& t, StateTensor what, const std::string& scope,
                     const std::map<std::string, HfTensor>& src, ValueHead& head, const ValueHeadParams& hp) {
  GLAM_CHECK(what != StateTensor::Grads, "InvalidArgument", "gradients cannot be imported");
  if (scope == "value_head") return import_value_head_state(t, what, src, head, hp);
  const size_t base = t.table().base();
  if (scope == "model") {
    Weights loaded = weights_from(cfg, src);
    auto from = param_list(loaded);
    for (size_t k = 0; k < base; ++k)
      if (!from[k]->empty()) t.upload(what, k, *from[k]);
  } else if (scope == "lora") {
    size_t k = base;
    for (const LayerWeights& l : t.table().meta->layers)
      for (int r = 0; r < kLinearRoles; ++r)
        for (const LoraAdapter& a : l.lora(LinearRole(r))) {
          t.upload(what, k++, tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", size_t(a.rank * a.in_n)));
          t.upload(what, k++, tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", size_t(a.out_n * a.rank)));
        }
  } else {
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
}

void import_value_head_state(TrainState& t, StateTensor what, const std::map<std::string, HfTensor>& src,
                             ValueHead& head, const ValueHeadParams& hp) {
  ValueHead v = head;
  import_value_head(v, src);
  for (size_t i = 0; i < v.weight.size(); ++i) {
    t.upload_value_head(what, 2 * i, v.weight[i], hp);
    t.upload_value_head(what, 2 * i + 1, v.bias[i], hp);
  }
  if (what == StateTensor::Params) head = std::move(v);
}

TrainStatus train_status_of(TrainState* t, int64_t set_step) {
  TrainStatus s;
  s.enabled = t != nullptr;
  if (!t) return s;
  if (set_step >= 0) t->set_step_count(set_step);
  s.step = t->step_count();
  s.lora = t->options().lora;
  s.trainable_params = t->trainable_params();
  s.state_bytes = t->bytes();
  return s;
}

}  // namespace glam

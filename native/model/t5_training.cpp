// T5's trainable set and LoRA adapters over the one TrainState; see t5_training.h.
#include "model/t5_training.h"

#include <algorithm>

#include "common/error.h"

namespace glam {
namespace {

struct Target {
  T5Lin lin;
  const char* module;  // relative to the block prefix
  int64_t out_off, out_n, in_n;
};

std::vector<Target> targets(const ModelConfig& c, bool dec) {
  const int64_t C = c.hidden, HD = c.heads * c.head_dim, I = c.inter;
  std::vector<Target> t = {{T5Lin::Qkv, "layer.0.SelfAttention.q", 0, HD, C},
                           {T5Lin::Qkv, "layer.0.SelfAttention.k", HD, HD, C},
                           {T5Lin::Qkv, "layer.0.SelfAttention.v", 2 * HD, HD, C},
                           {T5Lin::O, "layer.0.SelfAttention.o", 0, C, HD}};
  if (dec) {
    t.push_back({T5Lin::CrossQ, "layer.1.EncDecAttention.q", 0, HD, C});
    t.push_back({T5Lin::CrossKv, "layer.1.EncDecAttention.k", 0, HD, C});
    t.push_back({T5Lin::CrossKv, "layer.1.EncDecAttention.v", HD, HD, C});
    t.push_back({T5Lin::CrossO, "layer.1.EncDecAttention.o", 0, C, HD});
  }
  const bool g = c.gated;
  if (dec) {
    t.push_back({T5Lin::Wi, g ? "layer.2.DenseReluDense.wi_0" : "layer.2.DenseReluDense.wi", 0, I, C});
    if (g) t.push_back({T5Lin::Wi, "layer.2.DenseReluDense.wi_1", I, I, C});
    t.push_back({T5Lin::Wo, "layer.2.DenseReluDense.wo", 0, C, I});
  } else {
    t.push_back({T5Lin::Wi, g ? "layer.1.DenseReluDense.wi_0" : "layer.1.DenseReluDense.wi", 0, I, C});
    if (g) t.push_back({T5Lin::Wi, "layer.1.DenseReluDense.wi_1", I, I, C});
    t.push_back({T5Lin::Wo, "layer.1.DenseReluDense.wo", 0, C, I});
  }
  return t;
}

void add_lora(const ModelConfig& c, T5Weights& w, const TrainOptions& o) {
  uint64_t s = lora_seed(o);
  int matched = 0;
  for (int st = 0; st < 2; ++st) {
    std::vector<T5Block>& blocks = st ? w.dec : w.enc;
    for (size_t l = 0; l < blocks.size(); ++l)
      for (const Target& t : targets(c, st == 1)) {
        const std::string m = t.module, name = m.substr(m.rfind('.') + 1);
        if (!o.targets.empty() && std::find(o.targets.begin(), o.targets.end(), name) == o.targets.end()) continue;
        ++matched;
        const std::string module = std::string(st ? "decoder" : "encoder") + ".block." + std::to_string(l) + "." + m;
        blocks[l].lora[int(t.lin)].push_back(make_lora_adapter(module, t.out_off, t.out_n, t.in_n, o, s));
      }
  }
  GLAM_CHECK(matched > 0, "InvalidArgument", "no LoRA target matched; T5's targets are q, k, v, o, wi, wi_0, wi_1, wo");
}

}  // namespace

T5Weights t5_structure(const T5Weights& w) {
  T5Weights s;
  s.enc.resize(w.enc.size());
  s.dec.resize(w.dec.size());
  for (int st = 0; st < 2; ++st)
    for (size_t l = 0; l < (st ? w.dec : w.enc).size(); ++l)
      for (int k = 0; k < kT5Lins; ++k)
        for (LoraAdapter a : (st ? w.dec : w.enc)[l].lora[k]) {
          a.A.clear();
          a.B.clear();
          (st ? s.dec : s.enc)[l].lora[k].push_back(std::move(a));
        }
  return s;
}

std::vector<bool> t5_trainable(const ModelConfig& cfg, T5Weights& w, const TrainOptions& opts) {
  if (opts.lora) add_lora(cfg, w, opts);
  const auto params = t5_param_list(w);
  const size_t base = t5_base_param_count(w);
  const bool tied = w.lm_head.empty();
  std::vector<bool> trainable(params.size(), false);
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<float>& v = *params[k];
    if (v.empty()) continue;
    if (opts.lora) {
      trainable[k] = k >= base;
      continue;
    }
    const bool embed = &v == &w.shared, head_w = &v == &w.lm_head || (tied && embed);
    trainable[k] = !(embed && opts.freeze_embeddings) && !(head_w && opts.freeze_lm_head);
  }
  return trainable;
}

std::unique_ptr<TrainState> t5_train_state(T5Cpu& model, const std::vector<int64_t>& head_sizes, TrainOptions opts) {
  const std::vector<bool> trainable = t5_trainable(model.cfg, model.w, opts);
  return std::make_unique<TrainState>(model.cfg, model.be, t5_table(model.w), trainable, head_sizes, std::move(opts));
}

T5Weights t5_state_tensors(T5Weights& w, TrainState& t, StateTensor what) {
  T5Weights s = t5_structure(w);
  const auto dst = t5_param_list(s);
  for (size_t k = 0; k < dst.size(); ++k) *dst[k] = t.download_tensor(what, k);
  return s;
}

void t5_upload_state(TrainState& t, StateTensor what, T5Weights& s) {
  const auto src = t5_param_list(s);
  for (size_t k = 0; k < src.size(); ++k)
    if (!src[k]->empty()) t.upload(what, k, *src[k]);
}

}  // namespace glam

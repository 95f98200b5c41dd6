// The trainable set and LoRA adapters; see trainable_set.h.
#include "model/trainable_set.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace glam {
namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Target {
  std::vector<LoraAdapter>* list;
  std::string name, module;
  int64_t out_off, out_n, in_n;
};

std::vector<Target> lora_targets(const ModelConfig& c, LayerWeights& l, int64_t i) {
  const int64_t C = c.hidden, H = c.heads, Hkv = c.kv_heads, D = c.head_dim, I = c.inter;
  if (c.family == Family::Llama) {
    const std::string a = "model.layers." + std::to_string(i) + ".self_attn.", m = "model.layers." + std::to_string(i) + ".mlp.";
    return {{&l.lqkv, "q_proj", a + "q_proj", 0, H * D, C},
            {&l.lqkv, "k_proj", a + "k_proj", H * D, Hkv * D, C},
            {&l.lqkv, "v_proj", a + "v_proj", (H + Hkv) * D, Hkv * D, C},
            {&l.lo, "o_proj", a + "o_proj", 0, C, H * D},
            {&l.lup, "gate_proj", m + "gate_proj", 0, I, C},
            {&l.lup, "up_proj", m + "up_proj", I, I, C},
            {&l.ldown, "down_proj", m + "down_proj", 0, C, I}};
  }
  const std::string p = "transformer.h." + std::to_string(i) + ".";
  return {{&l.lqkv, "c_attn", p + "attn.c_attn", 0, 3 * C, C},
          {&l.lo, "c_proj", p + "attn.c_proj", 0, C, C},
          {&l.lup, "c_fc", p + "mlp.c_fc", 0, I, C},
          {&l.ldown, "c_proj", p + "mlp.c_proj", 0, C, I}};
}

}  // namespace

void add_lora_adapters(const ModelConfig& cfg, Weights& w, const TrainOptions& opts) {
  if (!opts.lora) return;
  GLAM_CHECK(opts.rank >= 1 && opts.rank <= 4096 && opts.alpha > 0, "InvalidArgument",
             "LoRA needs 1 <= rank <= 4096 and alpha > 0");
  uint64_t s = opts.seed * 0x9e3779b97f4a7c15ull + 1;
  int matched = 0;
  for (int64_t i = 0; i < cfg.layers; ++i) {
    for (const Target& t : lora_targets(cfg, w.layers[size_t(i)], i)) {
      if (!opts.targets.empty() && std::find(opts.targets.begin(), opts.targets.end(), t.name) == opts.targets.end())
        continue;
      ++matched;
      LoraAdapter a;
      a.module = t.module;
      a.out_off = t.out_off;
      a.out_n = t.out_n;
      a.in_n = t.in_n;
      a.rank = opts.rank;
      a.scale = float(opts.alpha / double(opts.rank));
      // PEFT's default: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0
      const double bound = 1.0 / std::sqrt(double(t.in_n));
      a.A.resize(size_t(a.rank * a.in_n));
      for (float& x : a.A) x = float((double(splitmix64(s) >> 11) / 9007199254740992.0 * 2 - 1) * bound);
      a.B.assign(size_t(a.out_n * a.rank), 0.0f);
      t.list->push_back(std::move(a));
    }
  }
  GLAM_CHECK(matched > 0, "InvalidArgument",
             cfg.family == Family::Llama
                 ? "no LoRA target matched; use q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"
                 : "no LoRA target matched; use c_attn, c_proj, c_fc");
}

std::vector<bool> trainable_mask(const ModelConfig& cfg, Weights& w, const TrainOptions& opts) {
  auto params = param_list(w);
  std::vector<bool> trainable(params.size(), false);
  for (size_t k = 0; k < params.size(); ++k) {
    const std::vector<float>* p = params[k];
    if (p->empty()) continue;
    bool is_adapter = k >= param_list_base_size(w);
    if (opts.lora) {
      trainable[k] = is_adapter;
      continue;
    }
    const bool embed = p == &w.embed || p == &w.pos_embed;
    const bool head_w = p == &w.lm_head || (cfg.tie && p == &w.embed);
    trainable[k] = !(embed && opts.freeze_embeddings) && !(head_w && opts.freeze_lm_head);
  }
  return trainable;
}

}  // namespace glam

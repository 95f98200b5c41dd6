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
  const FamilySpec& f = family_spec(c.family);
  std::vector<Target> t;
  for (const LinearSpec& s : f.linears) {
    int64_t off = 0;
    for (const ModulePart& part : s.parts) {
      const std::string m = part.module, name = m.substr(m.rfind('.') + 1);
      t.push_back({&l.lora(s.role), name, layer_prefix(f, i) + m, off, dim(c, part.rows), dim(c, s.in)});
      off += dim(c, part.rows);
    }
  }
  return t;
}

}  // namespace

uint64_t lora_seed(const TrainOptions& opts) {
  GLAM_CHECK(opts.rank >= 1 && opts.rank <= 4096 && opts.alpha > 0, "InvalidArgument",
             "LoRA needs 1 <= rank <= 4096 and alpha > 0");
  return opts.seed * 0x9e3779b97f4a7c15ull + 1;
}

LoraAdapter make_lora_adapter(std::string module, int64_t out_off, int64_t out_n, int64_t in_n, const TrainOptions& opts,
                              uint64_t& s) {
  LoraAdapter a;
  a.module = std::move(module);
  a.out_off = out_off;
  a.out_n = out_n;
  a.in_n = in_n;
  a.rank = opts.rank;
  a.scale = float(opts.alpha / double(opts.rank));
  // PEFT's default: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0
  const double bound = 1.0 / std::sqrt(double(in_n));
  a.A.resize(size_t(a.rank * a.in_n));
  for (float& x : a.A) x = float((double(splitmix64(s) >> 11) / 9007199254740992.0 * 2 - 1) * bound);
  a.B.assign(size_t(a.out_n * a.rank), 0.0f);
  return a;
}

void add_lora_adapters(const ModelConfig& cfg, Weights& w, const TrainOptions& opts) {
  if (!opts.lora) return;
  uint64_t s = lora_seed(opts);
  int matched = 0;
  for (int64_t i = 0; i < cfg.layers; ++i) {
    for (const Target& t : lora_targets(cfg, w.layers[size_t(i)], i)) {
      if (!opts.targets.empty() && std::find(opts.targets.begin(), opts.targets.end(), t.name) == opts.targets.end())
        continue;
      ++matched;
      t.list->push_back(make_lora_adapter(t.module, t.out_off, t.out_n, t.in_n, opts, s));
    }
  }
  GLAM_CHECK(matched > 0, "InvalidArgument", "no LoRA target matched; use " + family_spec(cfg.family).lora_hint);
}

std::vector<bool> trainable_mask(const ModelConfig& cfg, const std::vector<int64_t>& n, size_t base,
                                 const TrainOptions& opts) {
  std::vector<bool> trainable(n.size(), false);
  for (size_t k = 0; k < n.size(); ++k) {
    if (n[k] == 0) continue;
    if (opts.lora) {
      trainable[k] = k >= base;  // the adapters only
      continue;
    }
    const bool embed = k == 0 || k == 1;  // embed, pos_embed
    const bool head_w = k == base - 1 || (cfg.tie && k == 0);
    trainable[k] = !(embed && opts.freeze_embeddings) && !(head_w && opts.freeze_lm_head);
  }
  return trainable;
}

}  // namespace glam

// The one parameter order turned into the Decoder's views; see param_table.h.
#include "model/param_table.h"

#include "common/error.h"

namespace glam {

size_t ParamTable::base() const { return param_list_base_size(meta ? meta->layers.size() : 0); }

DecoderParams decoder_params(const ModelConfig& cfg, const ParamTable& t, const std::vector<float*>* grads) {
  GLAM_CHECK(t.meta && t.t.size() >= t.base(), "InternalError", "a parameter table without its structure");
  auto w = [&](size_t k) -> void* { return t.t[k].w; };
  auto f = [&](size_t k) { return static_cast<const float*>(t.t[k].w); };
  auto g = [&](size_t k) -> float* { return grads && k < grads->size() ? (*grads)[k] : nullptr; };
  const size_t base = t.base();
  DecoderParams p;
  p.embed = w(0);
  p.pos_embed = w(1);
  p.d_embed = g(0);
  p.d_pos_embed = g(1);
  p.final_norm = {f(base - 3), f(base - 2), g(base - 3), g(base - 2)};
  p.head = t.head(cfg.tie);
  p.d_head = cfg.tie ? g(0) : g(base - 1);
  p.inv_freq = t.inv_freq;
  const LayerParam wp[kLinearRoles] = {LayerParam::Wqkv, LayerParam::Wo, LayerParam::Wup, LayerParam::Wdown};
  const LayerParam bp[kLinearRoles] = {LayerParam::Bqkv, LayerParam::Bo, LayerParam::Bup, LayerParam::Bdown};
  size_t k = base;  // the adapters, in param_list's order
  p.layers.resize(t.meta->layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) {
    DecoderParams::Layer& pl = p.layers[l];
    auto at = [&](LayerParam q) { return layer_param_index(int64_t(l), q); };
    pl.norm1 = {f(at(LayerParam::Norm1W)), f(at(LayerParam::Norm1B)), g(at(LayerParam::Norm1W)), g(at(LayerParam::Norm1B))};
    pl.norm2 = {f(at(LayerParam::Norm2W)), f(at(LayerParam::Norm2B)), g(at(LayerParam::Norm2W)), g(at(LayerParam::Norm2B))};
    for (int r = 0; r < kLinearRoles; ++r) {
      LinearParams& lp = pl.lin[r];
      lp.W = w(at(wp[r]));
      lp.b = f(at(bp[r]));
      lp.dW = g(at(wp[r]));
      lp.db = g(at(bp[r]));
      for (const LoraAdapter& a : t.meta->layers[l].lora(LinearRole(r))) {
        GLAM_CHECK(k + 1 < t.t.size(), "InternalError", "the parameter table lacks an adapter");
        AdapterParams ap;
        ap.A = w(k);
        ap.B = w(k + 1);
        ap.dA = g(k);
        ap.dB = g(k + 1);
        ap.out_off = a.out_off;
        ap.out_n = a.out_n;
        ap.in_n = a.in_n;
        ap.rank = a.rank;
        ap.scale = a.scale;
        lp.lora.push_back(ap);
        k += 2;
      }
    }
  }
  return p;
}

ParamTable host_table(Weights& w) {
  ParamTable t;
  t.meta = &w;
  for (std::vector<float>* v : param_list(w))
    t.t.push_back({v->empty() ? nullptr : v->data(), DType::F32, int64_t(v->size())});
  t.inv_freq = w.inv_freq.empty() ? nullptr : w.inv_freq.data();
  return t;
}

}  // namespace glam

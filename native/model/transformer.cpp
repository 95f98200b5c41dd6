// The CPU engine's views of its host weights; see transformer.h.
#include "model/transformer.h"

namespace glam {

namespace {

float* ptr(std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

}  // namespace

DecoderParams Transformer::params(Weights* g) {
  DecoderParams p;
  p.embed = ptr(w_.embed);
  p.pos_embed = ptr(w_.pos_embed);
  p.head = w_.head();
  p.inv_freq = ptr(w_.inv_freq);
  p.final_norm = {ptr(w_.final_w), ptr(w_.final_b), g ? ptr(g->final_w) : nullptr, g ? ptr(g->final_b) : nullptr};
  if (g) {
    p.d_embed = ptr(g->embed);
    p.d_pos_embed = ptr(g->pos_embed);
    p.d_head = ptr(cfg_.tie ? g->embed : g->lm_head);
  }
  p.layers.resize(w_.layers.size());
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    LayerWeights& lw = w_.layers[l];
    LayerWeights* gw = g ? &g->layers[l] : nullptr;
    DecoderParams::Layer& pl = p.layers[l];
    pl.norm1 = {ptr(lw.norm1_w), ptr(lw.norm1_b), gw ? ptr(gw->norm1_w) : nullptr, gw ? ptr(gw->norm1_b) : nullptr};
    pl.norm2 = {ptr(lw.norm2_w), ptr(lw.norm2_b), gw ? ptr(gw->norm2_w) : nullptr, gw ? ptr(gw->norm2_b) : nullptr};
    for (int r = 0; r < kLinearRoles; ++r) {
      const LinearRole role = LinearRole(r);
      LinearParams& lp = pl.lin[r];
      lp.W = ptr(lw.weight(role));
      lp.b = ptr(lw.bias(role));
      if (gw) {
        lp.dW = ptr(gw->weight(role));
        lp.db = ptr(gw->bias(role));
      }
      std::vector<LoraAdapter>& ad = lw.lora(role);
      for (size_t i = 0; i < ad.size(); ++i) {
        LoraAdapter& a = ad[i];
        AdapterParams ap;
        ap.A = a.A.data();
        ap.B = a.B.data();
        if (gw && i < gw->lora(role).size()) {
          ap.dA = ptr(gw->lora(role)[i].A);
          ap.dB = ptr(gw->lora(role)[i].B);
        }
        ap.out_off = a.out_off;
        ap.out_n = a.out_n;
        ap.in_n = a.in_n;
        ap.rank = a.rank;
        ap.scale = a.scale;
        lp.lora.push_back(ap);
      }
    }
  }
  return p;
}

}  // namespace glam

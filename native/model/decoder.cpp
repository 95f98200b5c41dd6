// The decoder blocks over the Backend interface, forward and backward beside it; see decoder.h.
#include "model/decoder.h"

namespace glam {

size_t DecoderCache::bytes() const {
  size_t b = 0;
  for (const LayerCache& l : layers) {
    for (const auto* p : {&l.x_in, &l.x_mid, &l.qkv, &l.att, &l.lse, &l.up})
      if (*p) b += (*p)->size();
    for (const auto& t : l.t)
      if (t) b += t->size();
  }
  return b;
}

Decoder::Decoder(const ModelConfig& cfg, Backend& be)
    : cfg_(cfg), fam_(family_spec(cfg.family)), be_(be), esz_(dtype_size(be.compute_type())) {}

std::unique_ptr<Buffer>& Decoder::made(std::unique_ptr<Buffer>& b) {
  if (!b) b = be_.buffer();
  return b;
}

void Decoder::forward(const DecoderParams& p, float* x, const int32_t* ids, const int32_t* pos, int64_t T,
                      DecoderCache* cache) {
  be_.embedding_forward(x, ids, pos, T, p.embed, fam_.pos == PosKind::Learned ? p.pos_embed : nullptr, cfg_.hidden);
  if (cache) {
    cache->T = T;
    cache->layers.resize(size_t(cfg_.layers));  // keeps recycled buffers (no page faults)
  }
  for (int64_t l = 0; l < cfg_.layers; ++l) block(p, l, x, pos, T, cache ? &cache->layers[size_t(l)] : nullptr);
}

void Decoder::block(const DecoderParams& p, int64_t l, float* x, const int32_t* pos, int64_t T, LayerCache* lc) {
  const DecoderParams::Layer& lw = p.layers[size_t(l)];
  const int64_t C = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, D = cfg_.head_dim, I = cfg_.inter;
  const int64_t Q = cfg_.qkv_dim(), U = up_rows(cfg_);
  const float eps = cfg_.norm_eps;
  const DType ct = be_.compute_type();
  const LinearParams &wqkv = lw.lin[int(LinearRole::Qkv)], &wo = lw.lin[int(LinearRole::O)],
                     &wup = lw.lin[int(LinearRole::Up)], &wdown = lw.lin[int(LinearRole::Down)];
  // A training forward writes q|k|v, the attention output and the MLP pre-activation straight into
  // the layer's cache (no copies); inference uses the shared workspace.
  const bool ext = ext_.h != nullptr;
  void* h = ext ? ext_.h : made(h_)->ensure(size_t(T * C) * esz_);
  float* qkv = !lc && ext ? ext_.qkv : static_cast<float*>(made(lc ? lc->qkv : qkv_)->ensure(size_t(T * Q) * 4));
  void* att = !lc && ext ? ext_.att : made(lc ? lc->att : att_)->ensure(size_t(T * H * D) * esz_);
  float* up = !lc && ext ? ext_.up : static_cast<float*>(made(lc ? lc->up : up_)->ensure(size_t(T * U) * 4));
  float* lse = nullptr;
  float* keep[kLinearRoles] = {};
  if (lc) {
    be_.copy(made(lc->x_in)->ensure(size_t(T * C) * 4), x, size_t(T * C) * 4);
    lse = static_cast<float*>(made(lc->lse)->ensure(size_t(T * H) * 4));
    for (int r = 0; r < kLinearRoles; ++r)
      keep[r] = static_cast<float*>(made(lc->t[r])->ensure(size_t(lw.lin[r].lora_rank() * T) * esz_));
  }
  AttentionSpec spec;
  spec.window = cfg_.sliding_window;
  // attention: x += o_proj(attn(rope(qkv(norm1(x)))))
  be_.norm_forward(fam_.norm, h, ct, x, nullptr, T, C, eps, lw.norm1);
  be_.linear_forward(qkv, h, T, C, Q, wqkv, false, keep[int(LinearRole::Qkv)]);
  if (fam_.pos == PosKind::Rope) be_.rope_forward(qkv, Q, T, H + Hkv, D, pos, p.inv_freq);  // q, k heads adjacent
  be_.attention_forward(att, lse, qkv, H, Hkv, D, spec);
  be_.linear_forward(x, att, T, H * D, C, wo, true, keep[int(LinearRole::O)]);
  if (lc) be_.copy(made(lc->x_mid)->ensure(size_t(T * C) * 4), x, size_t(T * C) * 4);
  // MLP: x += down(act(up(norm2(x))))
  be_.norm_forward(fam_.norm, h, ct, x, nullptr, T, C, eps, lw.norm2);
  be_.linear_forward(up, h, T, C, U, wup, false, keep[int(LinearRole::Up)]);
  void* act = ext ? ext_.act : made(act_)->ensure(size_t(T * I) * esz_);
  be_.act_forward(mlp_act(cfg_), act, up, T, I);
  be_.linear_forward(x, act, T, I, C, wdown, true, keep[int(LinearRole::Down)]);
}

void Decoder::backward(const DecoderParams& p, float* dx, const DecoderCache& cache, const int32_t* ids,
                       const int32_t* pos) {
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) block_backward(p, l, dx, cache, pos);
  be_.embedding_backward(p.d_embed, cfg_.vocab, fam_.pos == PosKind::Learned ? p.d_pos_embed : nullptr, cfg_.max_pos,
                         dx, ids, pos, cache.T, cfg_.hidden);
}

void Decoder::block_backward(const DecoderParams& p, int64_t l, float* dx, const DecoderCache& cache,
                             const int32_t* pos) {
  const DecoderParams::Layer& lw = p.layers[size_t(l)];
  const LayerCache& lc = cache.layers[size_t(l)];
  const int64_t T = cache.T, C = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, D = cfg_.head_dim, I = cfg_.inter;
  const int64_t Q = cfg_.qkv_dim(), U = up_rows(cfg_);
  const float eps = cfg_.norm_eps;
  const ActKind ak = mlp_act(cfg_);
  const DType ct = be_.compute_type();
  const LinearParams &wqkv = lw.lin[int(LinearRole::Qkv)], &wo = lw.lin[int(LinearRole::O)],
                     &wup = lw.lin[int(LinearRole::Up)], &wdown = lw.lin[int(LinearRole::Down)];
  auto saved = [&](LinearRole r) { return lc.t[int(r)] ? lc.t[int(r)]->as<float>() : nullptr; };
  const float *x_in = lc.x_in->as<float>(), *x_mid = lc.x_mid->as<float>(), *qkv = lc.qkv->as<float>();
  const float* up = lc.up->as<float>();
  // scratch kept between calls (grown to the largest batch): no page faults per step
  void* h = made(bw_h_)->ensure(size_t(T * C) * esz_);
  float* dh = static_cast<float*>(made(bw_dh_)->ensure(size_t(T * C) * 4));
  void* act = made(bw_act_)->ensure(size_t(T * I) * esz_);
  float* dact = static_cast<float*>(made(bw_dact_)->ensure(size_t(T * I) * 4));
  float* dup = static_cast<float*>(made(bw_dup_)->ensure(size_t(T * U) * 4));
  float* datt = static_cast<float*>(made(bw_datt_)->ensure(size_t(T * H * D) * 4));
  float* dqkv = static_cast<float*>(made(bw_dqkv_)->ensure(size_t(T * Q) * 4));
  AttentionSpec spec;
  spec.window = cfg_.sliding_window;
  // --- MLP branch: x_out = x_mid + down(act(up(norm2(x_mid))))
  be_.norm_forward(fam_.norm, h, ct, x_mid, nullptr, T, C, eps, lw.norm2);
  be_.act_forward(ak, act, up, T, I);
  be_.linear_backward(dact, false, dx, act, T, I, C, wdown, saved(LinearRole::Down));
  be_.act_backward(ak, dup, dact, up, T, I);
  be_.linear_backward(dh, false, dup, h, T, C, U, wup, saved(LinearRole::Up));
  be_.norm_backward(fam_.norm, dx, dh, x_mid, nullptr, T, C, eps, lw.norm2);
  // --- attention branch: x_mid = x_in + o_proj(attn(rope(qkv(norm1(x_in)))))
  be_.linear_backward(datt, false, dx, lc.att->data(), T, H * D, C, wo, saved(LinearRole::O));
  be_.attention_backward(dqkv, datt, lc.att->data(), qkv, lc.lse->as<float>(), H, Hkv, D, spec);
  if (fam_.pos == PosKind::Rope) be_.rope_backward(dqkv, Q, T, H + Hkv, D, pos, p.inv_freq);
  be_.norm_forward(fam_.norm, h, ct, x_in, nullptr, T, C, eps, lw.norm1);
  // the first block's input gradient only feeds the embeddings: skipped when they are frozen
  const bool need_dx = l > 0 || p.d_embed || (fam_.pos == PosKind::Learned && p.d_pos_embed);
  be_.linear_backward(need_dx ? dh : nullptr, false, dqkv, h, T, C, Q, wqkv, saved(LinearRole::Qkv));
  if (need_dx) be_.norm_backward(fam_.norm, dx, dh, x_in, nullptr, T, C, eps, lw.norm1);
}

}  // namespace glam

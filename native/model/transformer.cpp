// The decoder blocks of the Llama family (RMSNorm, RoPE, GQA, SwiGLU) and GPT-2 (LayerNorm,
// learned positions, GELU-tanh), over packed rows: forward, and backward beside it.
// Subtle: residual adds are fused into the output projections' GEMMs (accumulate = true); the final
// norm runs only on the rows a caller gathers; in backward the residual gradient flows straight
// through (dx is reused in place), each branch adding its input gradient to it.
#include "model/transformer.h"

#include <algorithm>

namespace glam {

using namespace cpu;

size_t ForwardCache::bytes() const {
  size_t b = 0;
  for (const LayerCache& l : layers)
    b += (l.x_in.size() + l.x_mid.size() + l.qkv.size() + l.att.size() + l.lse.size() + l.up.size()) * sizeof(float);
  for (const LayerCache& l : layers)
    for (const auto* ts : {&l.t_qkv, &l.t_o, &l.t_up, &l.t_down})
      for (const auto& t : *ts) b += t.size() * sizeof(float);
  return b + (ids.size() + pos.size()) * sizeof(int32_t);
}

void Transformer::forward(std::vector<float>& x, const int32_t* ids, const int32_t* pos, int64_t T,
                          const std::vector<AttentionGroup>& groups, ForwardCache* cache, bool reference) {
  const int64_t C = cfg_.hidden;
  x.resize(size_t(T * C));
  embedding_forward(x.data(), ids, pos, T, w_.embed.data(), cfg_.family == Family::Gpt2 ? w_.pos_embed.data() : nullptr,
                    C, pool_);
  if (cache) {
    cache->T = T;
    cache->layers.resize(size_t(cfg_.layers));  // keeps recycled buffers' capacity (no page faults)
  }
  for (int64_t l = 0; l < cfg_.layers; ++l)
    block(l, x, pos, T, groups, cache ? &cache->layers[size_t(l)] : nullptr, reference);
}

void Transformer::norm(int which, const LayerWeights& lw, float* out, const float* x, int64_t T) {
  const std::vector<float>& w = which == 1 ? lw.norm1_w : lw.norm2_w;
  const std::vector<float>& b = which == 1 ? lw.norm1_b : lw.norm2_b;
  if (cfg_.family == Family::Llama)
    rmsnorm_forward(out, x, w.data(), T, cfg_.hidden, cfg_.norm_eps, pool_);
  else
    layernorm_forward(out, x, w.data(), b.data(), T, cfg_.hidden, cfg_.norm_eps, pool_);
}

void Transformer::block(int64_t l, std::vector<float>& x, const int32_t* pos, int64_t T,
                        const std::vector<AttentionGroup>& groups, LayerCache* lc, bool reference) {
  const LayerWeights& lw = w_.layers[size_t(l)];
  const int64_t C = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, D = cfg_.head_dim, I = cfg_.inter;
  const int64_t Q = cfg_.qkv_dim();
  const bool llama = cfg_.family == Family::Llama;
  const int64_t U = llama ? 2 * I : I;
  // A training forward writes q|k|v, the attention output and the MLP pre-activation straight into
  // the layer's cache (no copies); inference uses the shared workspace.
  std::vector<float>& qkv = lc ? lc->qkv : qkv_;
  std::vector<float>& att = lc ? lc->att : att_;
  std::vector<float>& up = lc ? lc->up : up_;
  h_.resize(size_t(T * C));
  qkv.resize(size_t(T * Q));
  att.resize(size_t(T * H * D));
  up.resize(size_t(T * U));
  if (lc) {
    lc->x_in = x;
    lc->lse.resize(size_t(T * H));
  }
  // attention: x += o_proj(attn(rope(qkv(norm1(x)))))
  norm(1, lw, h_.data(), x.data(), T);
  linear_forward(qkv.data(), h_.data(), T, C, Q, lw.wqkv, lw.bqkv, lw.lqkv, false, pool_, lc ? &lc->t_qkv : nullptr);
  if (llama) rope_forward(qkv.data(), Q, T, H + Hkv, D, pos, w_.inv_freq.data(), pool_);  // q and k heads are adjacent
  (reference ? attention_forward_reference : attention_forward)(att.data(), qkv.data(), pos, groups, H, Hkv, D,
                                                                 cfg_.sliding_window, pool_, lc ? lc->lse.data() : nullptr);
  linear_forward(x.data(), att.data(), T, H * D, C, lw.wo, lw.bo, lw.lo, true, pool_, lc ? &lc->t_o : nullptr);
  if (lc) lc->x_mid = x;
  // MLP: x += down(act(up(norm2(x))))
  norm(2, lw, h_.data(), x.data(), T);
  linear_forward(up.data(), h_.data(), T, C, U, lw.wup, lw.bup, lw.lup, false, pool_, lc ? &lc->t_up : nullptr);
  act_.resize(size_t(T * I));
  if (llama) {
    swiglu_forward(act_.data(), up.data(), T, I, pool_);
  } else {
    std::copy(up.begin(), up.end(), act_.begin());  // keep the pre-activation (cached for backward)
    if (cfg_.act == Act::Gelu) gelu_erf_forward(act_.data(), T * I, pool_);
    else gelu_tanh_forward(act_.data(), T * I, pool_);
  }
  linear_forward(x.data(), act_.data(), T, I, C, lw.wdown, lw.bdown, lw.ldown, true, pool_, lc ? &lc->t_down : nullptr);
}

void Transformer::backward(std::vector<float>& dx, const ForwardCache& cache, Weights& g) {
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) block_backward(l, dx, cache, g);
  embedding_backward(g.embed.empty() ? nullptr : g.embed.data(), cfg_.vocab,
                     cfg_.family == Family::Gpt2 && !g.pos_embed.empty() ? g.pos_embed.data() : nullptr, cfg_.max_pos,
                     dx.data(), cache.ids.data(), cache.pos.data(), cache.T, cfg_.hidden, pool_);
}

void Transformer::block_backward(int64_t l, std::vector<float>& dx, const ForwardCache& cache, Weights& g) {
  const LayerWeights& lw = w_.layers[size_t(l)];
  LayerWeights& gw = g.layers[size_t(l)];
  const LayerCache& lc = cache.layers[size_t(l)];
  const int64_t T = cache.T, C = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, D = cfg_.head_dim, I = cfg_.inter;
  const int64_t Q = cfg_.qkv_dim();
  const bool llama = cfg_.family == Family::Llama;
  const int64_t U = llama ? 2 * I : I;
  // scratch kept between calls (grown to the largest batch): no page faults per step
  std::vector<float>&h = bw_h_, &dh = bw_dh_, &act = bw_act_, &dact = bw_dact_, &dup = bw_dup_, &datt = bw_datt_,
                     &dqkv = bw_dqkv_;
  h.resize(size_t(T * C));
  dh.resize(size_t(T * C));
  act.resize(size_t(T * I));
  dact.resize(size_t(T * I));
  dup.resize(size_t(T * U));
  datt.resize(size_t(T * H * D));
  dqkv.resize(size_t(T * Q));
  // --- MLP branch: x_out = x_mid + down(act(up(norm2(x_mid))))
  norm(2, lw, h.data(), lc.x_mid.data(), T);
  if (llama) {
    swiglu_forward(act.data(), lc.up.data(), T, I, pool_);
  } else {
    std::copy(lc.up.begin(), lc.up.end(), act.begin());
    if (cfg_.act == Act::Gelu) gelu_erf_forward(act.data(), T * I, pool_);
    else gelu_tanh_forward(act.data(), T * I, pool_);
  }
  linear_backward(dact.data(), false, dx.data(), act.data(), T, I, C, lw.wdown, gw.wdown, gw.bdown, lw.ldown, gw.ldown,
                  pool_, &lc.t_down);
  if (llama) swiglu_backward(dup.data(), dact.data(), lc.up.data(), T, I, pool_);
  else if (cfg_.act == Act::Gelu) gelu_erf_backward(dup.data(), dact.data(), lc.up.data(), T * I, pool_);
  else gelu_tanh_backward(dup.data(), dact.data(), lc.up.data(), T * I, pool_);
  linear_backward(dh.data(), false, dup.data(), h.data(), T, C, U, lw.wup, gw.wup, gw.bup, lw.lup, gw.lup, pool_,
                  &lc.t_up);
  if (llama)
    rmsnorm_backward(dx.data(), gw.norm2_w.empty() ? nullptr : gw.norm2_w.data(), dh.data(), lc.x_mid.data(),
                     lw.norm2_w.data(), T, C, cfg_.norm_eps, pool_);
  else
    layernorm_backward(dx.data(), gw.norm2_w.empty() ? nullptr : gw.norm2_w.data(),
                       gw.norm2_b.empty() ? nullptr : gw.norm2_b.data(), dh.data(), lc.x_mid.data(), lw.norm2_w.data(),
                       T, C, cfg_.norm_eps, pool_);
  // --- attention branch: x_mid = x_in + o_proj(attn(rope(qkv(norm1(x_in)))))
  linear_backward(datt.data(), false, dx.data(), lc.att.data(), T, H * D, C, lw.wo, gw.wo, gw.bo, lw.lo, gw.lo, pool_,
                  &lc.t_o);
  attention_backward(dqkv.data(), datt.data(), lc.att.data(), lc.qkv.data(), lc.lse.data(), cache.pos.data(),
                     cache.groups, H, Hkv, D, cfg_.sliding_window, pool_);
  if (llama) rope_backward(dqkv.data(), Q, T, H + Hkv, D, cache.pos.data(), w_.inv_freq.data(), pool_);
  norm(1, lw, h.data(), lc.x_in.data(), T);
  // the first block's input gradient only feeds the embeddings: skipped when they are frozen
  const bool need_dx = l > 0 || !g.embed.empty() || !g.pos_embed.empty();
  linear_backward(need_dx ? dh.data() : nullptr, false, dqkv.data(), h.data(), T, C, Q, lw.wqkv, gw.wqkv, gw.bqkv,
                  lw.lqkv, gw.lqkv, pool_, &lc.t_qkv);
  if (!need_dx) return;
  if (llama)
    rmsnorm_backward(dx.data(), gw.norm1_w.empty() ? nullptr : gw.norm1_w.data(), dh.data(), lc.x_in.data(),
                     lw.norm1_w.data(), T, C, cfg_.norm_eps, pool_);
  else
    layernorm_backward(dx.data(), gw.norm1_w.empty() ? nullptr : gw.norm1_w.data(),
                       gw.norm1_b.empty() ? nullptr : gw.norm1_b.data(), dh.data(), lc.x_in.data(), lw.norm1_w.data(),
                       T, C, cfg_.norm_eps, pool_);
}

void Transformer::final_norm_rows(float* out, const float* x, const std::vector<int64_t>& rows) {
  const int64_t C = cfg_.hidden, R = int64_t(rows.size());
  std::vector<float> g(static_cast<size_t>(R * C));
  for (int64_t r = 0; r < R; ++r)
    std::copy(x + rows[size_t(r)] * C, x + (rows[size_t(r)] + 1) * C, g.begin() + r * C);
  if (cfg_.family == Family::Llama)
    rmsnorm_forward(out, g.data(), w_.final_w.data(), R, C, cfg_.norm_eps, pool_);
  else
    layernorm_forward(out, g.data(), w_.final_w.data(), w_.final_b.data(), R, C, cfg_.norm_eps, pool_);
}

void Transformer::final_norm_rows_backward(float* dx, Weights& g, const float* dout, const float* x,
                                           const std::vector<int64_t>& rows) {
  const int64_t C = cfg_.hidden, R = int64_t(rows.size());
  std::vector<float> xg(static_cast<size_t>(R * C)), dxg(static_cast<size_t>(R * C), 0.0f);
  for (int64_t r = 0; r < R; ++r)
    std::copy(x + rows[size_t(r)] * C, x + (rows[size_t(r)] + 1) * C, xg.begin() + r * C);
  if (cfg_.family == Family::Llama)
    rmsnorm_backward(dxg.data(), g.final_w.empty() ? nullptr : g.final_w.data(), dout, xg.data(), w_.final_w.data(), R,
                     C, cfg_.norm_eps, pool_);
  else
    layernorm_backward(dxg.data(), g.final_w.empty() ? nullptr : g.final_w.data(),
                       g.final_b.empty() ? nullptr : g.final_b.data(), dout, xg.data(), w_.final_w.data(), R, C,
                       cfg_.norm_eps, pool_);
  // rows are distinct, so the scatter has no collisions
  for (int64_t r = 0; r < R; ++r) {
    float* d = dx + rows[size_t(r)] * C;
    for (int64_t c = 0; c < C; ++c) d[c] += dxg[size_t(r * C + c)];
  }
}

}  // namespace glam

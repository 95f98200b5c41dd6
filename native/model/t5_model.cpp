// The T5 encoder-decoder over the Backend interface, forward and backward beside it; see t5_model.h.
#include "model/t5_model.h"

#include <unordered_map>

#include "common/error.h"

namespace glam {
size_t T5Cache::bytes() const {
  size_t b = x_enc ? x_enc->size() : 0;
  for (auto* stack : {&enc, &dec})
    for (const T5BlockCache& c : *stack) {
      for (auto* p : {&c.x_in, &c.x_mid, &c.x_cross, &c.qkv, &c.att, &c.lse, &c.cq, &c.ckv, &c.catt, &c.clse, &c.up})
        if (*p) b += (*p)->size();
      for (const auto& t : c.t)
        if (t) b += t->size();
    }
  return b;
}

ParamTable t5_table(T5Weights& w) {
  ParamTable t;
  for (std::vector<float>* v : t5_param_list(w))
    t.t.push_back({v->empty() ? nullptr : v->data(), DType::F32, int64_t(v->size())});
  return t;
}

T5Params t5_params(T5Weights& meta, const ParamTable& t, const std::vector<float*>* grads) {
  // a tensor of meta -> its t5_param_list index -> its table entry and gradient (null: frozen or not training)
  const auto list = t5_param_list(meta);
  GLAM_CHECK(t.t.size() == list.size() && (!grads || grads->size() == list.size()), "InternalError",
             "a T5 parameter table of another structure");
  std::unordered_map<const std::vector<float>*, size_t> index;
  for (size_t k = 0; k < list.size(); ++k) index[list[k]] = k;
  auto w = [&](std::vector<float>& v) { return t.t[index.at(&v)].w; };
  auto f = [&](std::vector<float>& v) { return static_cast<const float*>(w(v)); };
  auto g = [&](std::vector<float>& v) -> float* { return grads ? (*grads)[index.at(&v)] : nullptr; };
  auto norm = [&](std::vector<float>& v) { return NormParams{f(v), nullptr, g(v), nullptr}; };
  T5Params p;
  p.shared = w(meta.shared);
  p.d_shared = g(meta.shared);
  const bool own_head = w(meta.lm_head) != nullptr;  // else the head is `shared`
  p.head = own_head ? w(meta.lm_head) : p.shared;
  p.d_head = own_head ? g(meta.lm_head) : p.d_shared;
  p.enc_bias = f(meta.enc_bias);
  p.dec_bias = f(meta.dec_bias);
  p.d_enc_bias = g(meta.enc_bias);
  p.d_dec_bias = g(meta.dec_bias);
  p.enc_final = norm(meta.enc_final);
  p.dec_final = norm(meta.dec_final);
  for (int s = 0; s < 2; ++s) {
    std::vector<T5Block>& blocks = s ? meta.dec : meta.enc;
    std::vector<T5Params::Block>& out = s ? p.dec : p.enc;
    out.resize(blocks.size());
    for (size_t l = 0; l < blocks.size(); ++l) {
      T5Block& b = blocks[l];
      out[l].ln_attn = norm(b.ln_attn);
      out[l].ln_cross = norm(b.ln_cross);
      out[l].ln_ff = norm(b.ln_ff);
      for (int k = 0; k < kT5Lins; ++k) {
        LinearParams& lp = out[l].lin[k];
        lp.W = w(b.lin[k]);
        lp.dW = g(b.lin[k]);
        for (LoraAdapter& a : b.lora[k]) {
          AdapterParams ap;
          ap.A = w(a.A);
          ap.B = w(a.B);
          ap.dA = g(a.A);
          ap.dB = g(a.B);
          ap.out_off = a.out_off;
          ap.out_n = a.out_n;
          ap.in_n = a.in_n;
          ap.rank = a.rank;
          ap.scale = a.scale;
          lp.lora.push_back(ap);
        }
      }
    }
  }
  return p;
}

T5Model::T5Model(const ModelConfig& cfg, Backend& be)
    : cfg_(cfg), be_(be), esz_(dtype_size(be.compute_type())), act_(cfg.gated ? ActKind::GeGluTanh : ActKind::Relu) {
  GLAM_CHECK(cfg.family == Family::T5, "UnsupportedArchitecture", "T5Model runs T5 configs only");
}

float* T5Model::f32(std::unique_ptr<Buffer>& b, int64_t n) {
  if (!b) b = be_.buffer();
  return static_cast<float*>(b->ensure(size_t(n) * 4));
}

void* T5Model::ct(std::unique_ptr<Buffer>& b, int64_t n) {
  if (!b) b = be_.buffer();
  return b->ensure(size_t(n) * esz_);
}

// x += o(attention(qkv(ln(x)))) with the stack's bias: bidirectional in the encoder, causal in the decoder.
void T5Model::self_attention(const T5Params::Block& b, bool dec, const float* bias, float* x, int64_t T,
                             T5BlockCache* c, float* keep[kT5Lins]) {
  const int64_t C = cfg_.hidden, H = cfg_.heads, D = cfg_.head_dim, HD = H * D;
  void* h = ct(h_, T * C);
  float* qkv = f32(c ? c->qkv : qkv_, T * 3 * HD);
  void* att = ct(c ? c->att : att_, T * HD);
  float* lse = c ? f32(c->lse, T * H) : nullptr;
  AttentionSpec spec;
  spec.causal = dec;
  spec.scale = 1.0f;
  spec.bias = bias;
  spec.bias_buckets = cfg_.rel_buckets;
  spec.bias_max_distance = cfg_.rel_max_distance;
  be_.norm_forward(NormKind::Rms, h, be_.compute_type(), x, nullptr, T, C, cfg_.norm_eps, b.ln_attn);
  be_.linear_forward(qkv, h, T, C, 3 * HD, b.lin[int(T5Lin::Qkv)], false, keep[int(T5Lin::Qkv)]);
  be_.attention_forward(att, lse, qkv, H, H, D, spec);
  be_.linear_forward(x, att, T, HD, C, b.lin[int(T5Lin::O)], true, keep[int(T5Lin::O)]);
}

// x += o_c(attention(q_c(ln(x)), kv_c(enc_out))): decoder group g reads encoder group g's rows.
void T5Model::cross_attention(const T5Params::Block& b, float* x, int64_t Td, const void* enc_out, int64_t Te,
                              const AttentionRows& enc_rows, T5BlockCache* c, float* keep[kT5Lins]) {
  const int64_t C = cfg_.hidden, H = cfg_.heads, D = cfg_.head_dim, HD = H * D;
  void* h = ct(h_, Td * C);
  float* cq = f32(c ? c->cq : cq_, Td * HD);
  float* ckv = f32(c ? c->ckv : ckv_, Te * 2 * HD);
  void* catt = ct(c ? c->catt : catt_, Td * HD);
  float* clse = c ? f32(c->clse, Td * H) : nullptr;
  AttentionSpec spec;
  spec.causal = false;
  spec.scale = 1.0f;
  spec.kv = ckv;
  spec.kv_rows = &enc_rows;
  be_.linear_forward(ckv, enc_out, Te, C, 2 * HD, b.lin[int(T5Lin::CrossKv)], false, keep[int(T5Lin::CrossKv)]);
  be_.norm_forward(NormKind::Rms, h, be_.compute_type(), x, nullptr, Td, C, cfg_.norm_eps, b.ln_cross);
  be_.linear_forward(cq, h, Td, C, HD, b.lin[int(T5Lin::CrossQ)], false, keep[int(T5Lin::CrossQ)]);
  be_.attention_forward(catt, clse, cq, H, H, D, spec);
  be_.linear_forward(x, catt, Td, HD, C, b.lin[int(T5Lin::CrossO)], true, keep[int(T5Lin::CrossO)]);
}

// x += wo(act(wi(ln(x))))
void T5Model::feed_forward(const T5Params::Block& b, float* x, int64_t T, T5BlockCache* c, float* keep[kT5Lins]) {
  const int64_t C = cfg_.hidden, I = cfg_.inter, U = cfg_.gated ? 2 * I : I;
  void* h = ct(h_, T * C);
  float* up = f32(c ? c->up : up_, T * U);
  void* act = ct(act_buf_, T * I);
  be_.norm_forward(NormKind::Rms, h, be_.compute_type(), x, nullptr, T, C, cfg_.norm_eps, b.ln_ff);
  be_.linear_forward(up, h, T, C, U, b.lin[int(T5Lin::Wi)], false, keep[int(T5Lin::Wi)]);
  be_.act_forward(act_, act, up, T, I);
  be_.linear_forward(x, act, T, I, C, b.lin[int(T5Lin::Wo)], true, keep[int(T5Lin::Wo)]);
}

// A training forward's LoRA keeps of one block (s X A^T per adapter; cross k|v's over the Te encoder rows).
void T5Model::lora_keeps(T5BlockCache* c, const T5Params::Block& b, int64_t T, int64_t Te, float* keep[kT5Lins]) {
  for (int k = 0; k < kT5Lins; ++k)
    keep[k] = c ? f32(c->t[k], b.lin[k].lora_rank() * (k == int(T5Lin::CrossKv) ? Te : T)) : nullptr;
}

// The stream before a branch, kept for the backward.
void T5Model::snapshot(std::unique_ptr<Buffer>& dst, const float* x, int64_t n) { be_.copy(f32(dst, n), x, size_t(n) * 4); }

void T5Model::encode(const T5Params& p, void* enc_out, const int32_t* ids, const int32_t* pos, int64_t Te,
                     const AttentionRows& enc_rows, T5Cache* cache) {
  const int64_t C = cfg_.hidden;
  be_.set_attention(enc_rows, pos, Te);
  float* x = f32(cache ? cache->x_enc : xenc_, Te * C);  // the stream (kept when training)
  be_.embedding_forward(x, ids, nullptr, Te, p.shared, nullptr, C);
  if (cache) {
    cache->Te = Te;
    cache->enc.resize(p.enc.size());
  }
  for (size_t l = 0; l < p.enc.size(); ++l) {
    T5BlockCache* c = cache ? &cache->enc[l] : nullptr;
    float* keep[kT5Lins];
    lora_keeps(c, p.enc[l], Te, Te, keep);
    if (c) snapshot(c->x_in, x, Te * C);
    self_attention(p.enc[l], false, p.enc_bias, x, Te, c, keep);
    if (c) snapshot(c->x_mid, x, Te * C);
    feed_forward(p.enc[l], x, Te, c, keep);
  }
  be_.norm_forward(NormKind::Rms, enc_out, be_.compute_type(), x, nullptr, Te, C, cfg_.norm_eps, p.enc_final);
}

void T5Model::decode(const T5Params& p, float* x, const int32_t* ids, const int32_t* pos, int64_t Td,
                     const AttentionRows& dec_rows, const void* enc_out, int64_t Te, const AttentionRows& enc_rows,
                     T5Cache* cache) {
  const int64_t C = cfg_.hidden;
  be_.set_attention(dec_rows, pos, Td);
  be_.embedding_forward(x, ids, nullptr, Td, p.shared, nullptr, C);
  if (cache) {
    cache->Td = Td;
    cache->dec.resize(p.dec.size());
  }
  for (size_t l = 0; l < p.dec.size(); ++l) {
    T5BlockCache* c = cache ? &cache->dec[l] : nullptr;
    float* keep[kT5Lins];
    lora_keeps(c, p.dec[l], Td, Te, keep);
    if (c) snapshot(c->x_in, x, Td * C);
    self_attention(p.dec[l], true, p.dec_bias, x, Td, c, keep);
    if (c) snapshot(c->x_cross, x, Td * C);
    cross_attention(p.dec[l], x, Td, enc_out, Te, enc_rows, c, keep);
    if (c) snapshot(c->x_mid, x, Td * C);
    feed_forward(p.dec[l], x, Td, c, keep);
  }
}

// One block's backward: dx (T, C) is the gradient of the block's output and becomes its input's.
// Decoder blocks add their cross k|v's input gradient into d_enc_out (Te, C).
void T5Model::block_backward(const T5Params& p, const T5Params::Block& b, bool dec, float* dx, float* d_enc_out,
                             const T5BlockCache& c, int64_t T, const void* enc_out, int64_t Te,
                             const AttentionRows* enc_rows) {
  const int64_t C = cfg_.hidden, H = cfg_.heads, D = cfg_.head_dim, HD = H * D, I = cfg_.inter;
  const int64_t U = cfg_.gated ? 2 * I : I;
  const float eps = cfg_.norm_eps;
  const DType ctype = be_.compute_type();
  auto saved = [&](T5Lin k) { return c.t[int(k)] ? c.t[int(k)]->as<float>() : nullptr; };
  auto lin = [&](T5Lin k) -> const LinearParams& { return b.lin[int(k)]; };
  void* h = ct(bw_h_, T * C);
  float* dh = f32(bw_dh_, T * C);
  // --- feed-forward: x_out = x_mid + wo(act(wi(ln_ff(x_mid))))
  {
    void* act = ct(bw_act_, T * I);
    float* dact = f32(bw_dact_, T * I);
    float* dup = f32(bw_dup_, T * U);
    const float* x_mid = c.x_mid->as<float>();
    be_.norm_forward(NormKind::Rms, h, ctype, x_mid, nullptr, T, C, eps, b.ln_ff);
    be_.act_forward(act_, act, c.up->as<float>(), T, I);
    be_.linear_backward(dact, false, dx, act, T, I, C, lin(T5Lin::Wo), saved(T5Lin::Wo));
    be_.act_backward(act_, dup, dact, c.up->as<float>(), T, I);
    be_.linear_backward(dh, false, dup, h, T, C, U, lin(T5Lin::Wi), saved(T5Lin::Wi));
    be_.norm_backward(NormKind::Rms, dx, dh, x_mid, nullptr, T, C, eps, b.ln_ff);
  }
  float* datt = f32(bw_datt_, T * HD);
  // --- cross attention: x_mid = x_cross + o_c(attn(q_c(ln_cross(x_cross)), kv_c(enc_out)))
  if (dec) {
    float* dcq = f32(bw_dqkv_, T * HD);
    float* dckv = f32(bw_dckv_, Te * 2 * HD);
    AttentionSpec spec;
    spec.causal = false;
    spec.scale = 1.0f;
    spec.kv = c.ckv->as<float>();
    spec.kv_rows = enc_rows;
    spec.dkv = dckv;
    const float* x_cross = c.x_cross->as<float>();
    be_.linear_backward(datt, false, dx, c.catt->data(), T, HD, C, lin(T5Lin::CrossO), saved(T5Lin::CrossO));
    be_.attention_backward(dcq, datt, c.catt->data(), c.cq->as<float>(), c.clse->as<float>(), H, H, D, spec);
    be_.norm_forward(NormKind::Rms, h, ctype, x_cross, nullptr, T, C, eps, b.ln_cross);
    be_.linear_backward(dh, false, dcq, h, T, C, HD, lin(T5Lin::CrossQ), saved(T5Lin::CrossQ));
    be_.norm_backward(NormKind::Rms, dx, dh, x_cross, nullptr, T, C, eps, b.ln_cross);
    be_.linear_backward(d_enc_out, true, dckv, enc_out, Te, C, 2 * HD, lin(T5Lin::CrossKv), saved(T5Lin::CrossKv));
  }
  // --- self attention: x_next = x_in + o(attn(qkv(ln_attn(x_in))))
  float* dqkv = f32(bw_dqkv_, T * 3 * HD);
  AttentionSpec spec;
  spec.causal = dec;
  spec.scale = 1.0f;
  spec.bias = dec ? p.dec_bias : p.enc_bias;
  spec.dbias = dec ? p.d_dec_bias : p.d_enc_bias;
  spec.bias_buckets = cfg_.rel_buckets;
  spec.bias_max_distance = cfg_.rel_max_distance;
  const float* x_in = c.x_in->as<float>();
  be_.linear_backward(datt, false, dx, c.att->data(), T, HD, C, lin(T5Lin::O), saved(T5Lin::O));
  be_.attention_backward(dqkv, datt, c.att->data(), c.qkv->as<float>(), c.lse->as<float>(), H, H, D, spec);
  be_.norm_forward(NormKind::Rms, h, ctype, x_in, nullptr, T, C, eps, b.ln_attn);
  be_.linear_backward(dh, false, dqkv, h, T, C, 3 * HD, lin(T5Lin::Qkv), saved(T5Lin::Qkv));
  be_.norm_backward(NormKind::Rms, dx, dh, x_in, nullptr, T, C, eps, b.ln_attn);
}

void T5Model::backward(const T5Params& p, float* dx, const T5Cache& cache, const int32_t* dec_ids,
                       const int32_t* dec_pos, const AttentionRows& dec_rows, const void* enc_out,
                       const int32_t* enc_ids, const int32_t* enc_pos, const AttentionRows& enc_rows) {
  const int64_t C = cfg_.hidden, Te = cache.Te, Td = cache.Td;
  float* d_enc_out = f32(bw_denc_, Te * C);
  be_.zero(d_enc_out, size_t(Te * C) * 4);
  be_.set_attention(dec_rows, dec_pos, Td);
  for (size_t l = p.dec.size(); l-- > 0;)
    block_backward(p, p.dec[l], true, dx, d_enc_out, cache.dec[l], Td, enc_out, Te, &enc_rows);
  be_.embedding_backward(p.d_shared, cfg_.vocab, nullptr, 0, dx, dec_ids, nullptr, Td, C);
  // the encoder: its final norm, then its blocks, from the gradient every decoder layer sent back
  float* dxe = f32(bw_dx_enc_, Te * C);
  be_.zero(dxe, size_t(Te * C) * 4);
  be_.norm_backward(NormKind::Rms, dxe, d_enc_out, cache.x_enc->as<float>(), nullptr, Te, C, cfg_.norm_eps,
                    p.enc_final);
  be_.set_attention(enc_rows, enc_pos, Te);
  for (size_t l = p.enc.size(); l-- > 0;)
    block_backward(p, p.enc[l], false, dxe, nullptr, cache.enc[l], Te, nullptr, 0, nullptr);
  be_.embedding_backward(p.d_shared, cfg_.vocab, nullptr, 0, dxe, enc_ids, nullptr, Te, C);
}

}  // namespace glam

// T5Model: a T5 encoder-decoder's forward and backward, written once as calls on the Backend interface
// (backend/backend.h) over packed rows, as model/decoder.h is for decoder-only models. It knows
// nothing about prompts or candidates: the caller plans the encoder's rows (one bidirectional group
// per prompt) and the decoder's rows (model/t5_scorer.h: [decoder_start] as a one-row shared prefix
// and each candidate's tokens after it), and decoder group g cross-attends to encoder group g.
// Pipeline (x the fp32 residual stream; every norm is T5's RMSNorm without mean or bias; attention
// scores are q.k unscaled plus the stack's relative position bias, which only self attention reads):
//   encoder block: x += o(attn_bidir(qkv(ln(x)))); x += wo(act(wi(ln(x))));  enc_out = ln_final(x)
//   decoder block: x += o(attn_causal(qkv(ln(x)))); x += o_c(attn(q_c(ln(x)), kv_c(enc_out)));
//                  x += wo(act(wi(ln(x))))
// Subtle: each decoder layer's cross k|v (Te, 2HD) is computed once from the encoder output and read
// in place by every candidate of the prompt; in backward, its gradient flows back through kv_c into
// one d enc_out accumulator (summing over layers and over all of a prompt's candidates) before the
// encoder's backward. A training forward keeps, per block, the stream before each branch, q|k|v,
// the attention outputs and log-sum-exps, the cross q and k|v, the MLP pre-activation and LoRA's
// s X A^T; norms and activations are recomputed in backward.
// Legend: Te encoder rows, Td decoder rows, C d_model, H heads, D d_kv, HD = H D, I d_ff,
// U = 2I (gated) | I, NB buckets, r sum of a linear's LoRA ranks.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"
#include "model/param_table.h"
#include "model/t5_weights.h"

namespace glam {

// The parameters (and gradients: null when frozen or not training) as the backend holds them.
struct T5Params {
  struct Block {
    NormParams ln_attn, ln_cross, ln_ff;
    LinearParams lin[kT5Lins];  // by T5Lin
  };
  const void* shared = nullptr;  // (V, C)
  float* d_shared = nullptr;
  const void* head = nullptr;    // (V, C): lm_head, or shared
  float* d_head = nullptr;
  const float *enc_bias = nullptr, *dec_bias = nullptr;  // (NB, H)
  float *d_enc_bias = nullptr, *d_dec_bias = nullptr;
  std::vector<Block> enc, dec;
  NormParams enc_final, dec_final;
};
// T5's parameter table (model/param_table.h): every tensor of w in THE T5 order, t5_param_list
// (host memory, fp32: the CPU backend's; empty tensors null), which is also the TrainState's order.
ParamTable t5_table(T5Weights& w);
// The one T5 view builder, as decoder_params is the decoder's: the views of table t, laid out as
// t5_param_list(meta) (meta: the weights or their structure, for the stacks and adapters' metadata);
// grads: the gradients in the same order (null entries frozen; TrainState::grads()).
T5Params t5_params(T5Weights& meta, const ParamTable& t, const std::vector<float*>* grads = nullptr);
inline T5Params t5_params(T5Weights& w) { return t5_params(w, t5_table(w)); }

// What a training forward keeps per block (backend buffers).
struct T5BlockCache {
  std::unique_ptr<Buffer> x_in, x_mid, x_cross;  // (T, C) the stream before each branch
  std::unique_ptr<Buffer> qkv, att, lse;         // (T, 3HD), (T, HD) e, (T, H)
  std::unique_ptr<Buffer> cq, ckv, catt, clse;   // (Td, HD), (Te, 2HD), (Td, HD) e, (Td, H)
  std::unique_ptr<Buffer> up;                    // (T, U)
  std::unique_ptr<Buffer> t[kT5Lins];            // (r, T) LoRA
};
struct T5Cache {
  std::vector<T5BlockCache> enc, dec;
  std::unique_ptr<Buffer> x_enc;  // (Te, C) the encoder stream before its final norm
  int64_t Te = 0, Td = 0;
  size_t bytes() const;
};

class T5Model {
 public:
  T5Model(const ModelConfig& cfg, Backend& be);

  // enc_out[Te, C] (compute type) <- the encoder's final-normed output. Sets enc_rows on the backend.
  void encode(const T5Params& p, void* enc_out, const int32_t* ids, const int32_t* pos, int64_t Te,
              const AttentionRows& enc_rows, T5Cache* cache = nullptr);
  // x[Td, C] <- the decoder stream after its last block (before the final norm). Sets dec_rows.
  void decode(const T5Params& p, float* x, const int32_t* ids, const int32_t* pos, int64_t Td,
              const AttentionRows& dec_rows, const void* enc_out, int64_t Te, const AttentionRows& enc_rows,
              T5Cache* cache = nullptr);
  // Backward from dx[Td, C] (the decoder stream's gradient after its last block; consumed) through
  // both stacks into p's gradients. enc_out is the forward's.
  void backward(const T5Params& p, float* dx, const T5Cache& cache, const int32_t* dec_ids, const int32_t* dec_pos,
                const AttentionRows& dec_rows, const void* enc_out, const int32_t* enc_ids, const int32_t* enc_pos,
                const AttentionRows& enc_rows);

 private:
  void self_attention(const T5Params::Block& b, bool dec, const float* bias, float* x, int64_t T, T5BlockCache* c,
                      float* keep[kT5Lins]);
  void cross_attention(const T5Params::Block& b, float* x, int64_t Td, const void* enc_out, int64_t Te,
                       const AttentionRows& enc_rows, T5BlockCache* c, float* keep[kT5Lins]);
  void feed_forward(const T5Params::Block& b, float* x, int64_t T, T5BlockCache* c, float* keep[kT5Lins]);
  void block_backward(const T5Params& p, const T5Params::Block& b, bool dec, float* dx, float* d_enc_out,
                      const T5BlockCache& c, int64_t T, const void* enc_out, int64_t Te,
                      const AttentionRows* enc_rows);
  void lora_keeps(T5BlockCache* c, const T5Params::Block& b, int64_t T, int64_t Te, float* keep[kT5Lins]);
  void snapshot(std::unique_ptr<Buffer>& dst, const float* x, int64_t n);
  float* f32(std::unique_ptr<Buffer>& b, int64_t n);  // a backend buffer of n floats
  void* ct(std::unique_ptr<Buffer>& b, int64_t n);    // n compute-type elements

  const ModelConfig& cfg_;
  Backend& be_;
  size_t esz_;
  ActKind act_;
  // forward workspace (inference) and backward scratch, grown to the largest batch
  std::unique_ptr<Buffer> xenc_, h_, qkv_, att_, cq_, ckv_, catt_, up_, act_buf_, bw_h_, bw_dh_, bw_act_, bw_dact_, bw_dup_,
      bw_datt_, bw_dqkv_, bw_dckv_, bw_dx_enc_, bw_denc_;
};

}  // namespace glam

// Decoder: a decoder-only transformer's forward and backward, written once as calls on the Backend
// interface (backend/backend.h), over packed rows. Which ops a block calls (RMSNorm or LayerNorm,
// RoPE or learned positions, SwiGLU or GELU) comes from the family's description (model/family.h);
// the CPU engine (model/transformer.h) and the CUDA engine (cuda/cuda_engine.h) both run this code.
// It knows nothing about prompts or candidates beyond the attention rows the caller set on the
// backend (Backend::set_attention); the scoring passes (scorer.h) plan those.
// Pipeline of a block (x the fp32 residual stream):
//   h = norm1(x); qkv = h Wqkv^T (+b); rope(q, k); att = attention(qkv); x += att Wo^T (+b)
//   h = norm2(x); u = h Wup^T (+b); a = act(u); x += a Wdown^T (+b)
// Subtle: the residual adds are fused into the output projections' GEMMs (accumulate); a training
// forward keeps, per layer, only what is expensive to recompute (the block input, the mid-block
// residual, q|k|v after RoPE, the attention output and its per-head log-sum-exp, the MLP
// pre-activation, LoRA's s X A^T); norms and activations are recomputed in backward. The residual
// gradient flows straight through backward (dx is updated in place, each branch adding its input
// gradient). Workspaces are backend buffers kept between calls and grown to the largest batch.
// Legend: T packed rows, C hidden, H heads, Hkv kv heads, D head size, I MLP width, U = 2I (gated) | I,
// Q = (H + 2 Hkv) D, R gathered rows, r sum of a linear's LoRA ranks.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/family.h"
#include "model/model_config.h"

namespace glam {

// The model's parameters (and gradients, null when frozen or not training) as the backend holds them.
struct DecoderParams {
  struct Layer {
    NormParams norm1, norm2;
    LinearParams lin[kLinearRoles];  // by LinearRole
  };
  const void* embed = nullptr;      // (V, C)
  const void* pos_embed = nullptr;  // (maxPos, C) learned positions, else null
  float *d_embed = nullptr, *d_pos_embed = nullptr;
  std::vector<Layer> layers;  // (L)
  NormParams final_norm;
  const void* head = nullptr;  // (V, C): the LM head, or the embeddings when tied
  float* d_head = nullptr;
  const float* inv_freq = nullptr;  // (D/2) RoPE
};

// What a training forward keeps for its backward, per layer (backend buffers).
struct LayerCache {
  std::unique_ptr<Buffer> x_in, x_mid;  // (T, C) fp32
  std::unique_ptr<Buffer> qkv;          // (T, Q) fp32, RoPE applied
  std::unique_ptr<Buffer> att;          // (T, HD) compute type
  std::unique_ptr<Buffer> lse;          // (T, H) fp32
  std::unique_ptr<Buffer> up;           // (T, U) fp32, before the activation
  std::unique_ptr<Buffer> t[kLinearRoles];  // (r, T) e LoRA: each adapter's s X A^T
};
struct DecoderCache {
  std::vector<LayerCache> layers;  // (L)
  int64_t T = 0;
  size_t bytes() const;
};

// Caller-owned forward workspace (an engine's arena, so a captured CUDA graph sees fixed addresses):
// h (T,C) e, qkv (T,Q), att (T,HD) e, up (T,U), act (T,I) e, sized for the next forward's T.
struct DecoderWorkspace {
  void* h = nullptr;
  float* qkv = nullptr;
  void* att = nullptr;
  float* up = nullptr;
  void* act = nullptr;
};

class Decoder {
 public:
  Decoder(const ModelConfig& cfg, Backend& be);
  // Forwards use ws (null: the decoder's own buffers) for what they do not keep in a cache.
  void use_workspace(const DecoderWorkspace* ws) { ext_ = ws ? *ws : DecoderWorkspace{}; }

  // x[T,C] <- the residual stream after the last block (before the final norm). ids, pos (T) in
  // backend memory; the attention rows must be set on the backend. With a cache, records what
  // backward needs.
  void forward(const DecoderParams& p, float* x, const int32_t* ids, const int32_t* pos, int64_t T,
               DecoderCache* cache = nullptr);
  // (the final norm runs in the heads: model/heads.h)
  // Backward through every block and the embeddings from dx[T,C] (the gradient of the stream after
  // the last block; consumed). The attention rows must be set on the backend as in the forward.
  void backward(const DecoderParams& p, float* dx, const DecoderCache& cache, const int32_t* ids, const int32_t* pos);

 private:
  void block(const DecoderParams& p, int64_t l, float* x, const int32_t* pos, int64_t T, LayerCache* lc);
  void block_backward(const DecoderParams& p, int64_t l, float* dx, const DecoderCache& cache, const int32_t* pos);
  std::unique_ptr<Buffer>& made(std::unique_ptr<Buffer>& b);

  const ModelConfig& cfg_;
  const FamilySpec& fam_;
  Backend& be_;
  size_t esz_;  // bytes per compute-type element
  // workspace: h (T,C) e, qkv (T,Q), att (T,HD) e, up (T,U), act (T,I) e; or the caller's (ext_)
  std::unique_ptr<Buffer> h_, qkv_, att_, up_, act_;
  DecoderWorkspace ext_;
  // backward scratch: h (T,C) e, dh (T,C), act (T,I) e, dact (T,I), dup (T,U), datt (T,HD), dqkv (T,Q)
  std::unique_ptr<Buffer> bw_h_, bw_dh_, bw_act_, bw_dact_, bw_dup_, bw_datt_, bw_dqkv_;
};

}  // namespace glam

// The decoder blocks of the Llama family (RMSNorm, RoPE, GQA, SwiGLU) and GPT-2 (LayerNorm,
// learned positions, GELU-tanh), over packed rows. Subtle: residual adds are fused into the output
// projections' GEMMs (accumulate = true), and the final norm runs only on the rows a caller gathers.
#include "model/transformer.h"

#include "ops/cpu/gemm.h"

namespace glam {

using namespace cpu;

void Transformer::forward(std::vector<float>& x, const int32_t* ids, const int32_t* pos, int64_t T,
                          const std::vector<AttentionGroup>& groups) {
  const int64_t C = cfg_.hidden;
  x.resize(size_t(T * C));
  embedding_forward(x.data(), ids, pos, T, w_.embed.data(), cfg_.family == Family::Gpt2 ? w_.pos_embed.data() : nullptr,
                    C, pool_);
  for (int64_t l = 0; l < cfg_.layers; ++l) block(l, x, pos, T, groups);
}

void Transformer::block(int64_t l, std::vector<float>& x, const int32_t* pos, int64_t T,
                        const std::vector<AttentionGroup>& groups) {
  const LayerWeights& lw = w_.layers[size_t(l)];
  const int64_t C = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, D = cfg_.head_dim, I = cfg_.inter;
  const int64_t Q = cfg_.qkv_dim();
  const bool llama = cfg_.family == Family::Llama;
  h_.resize(size_t(T * C));
  qkv_.resize(size_t(T * Q));
  att_.resize(size_t(T * H * D));
  // attention: x += o_proj(attn(rope(qkv(norm1(x)))))
  if (llama)
    rmsnorm_forward(h_.data(), x.data(), lw.norm1_w.data(), T, C, cfg_.norm_eps, pool_);
  else
    layernorm_forward(h_.data(), x.data(), lw.norm1_w.data(), lw.norm1_b.data(), T, C, cfg_.norm_eps, pool_);
  gemm_nt(h_.data(), C, lw.wqkv.data(), C, qkv_.data(), Q, T, Q, C, lw.bqkv.empty() ? nullptr : lw.bqkv.data(), false,
          pool_);
  if (llama) rope_forward(qkv_.data(), Q, T, H + Hkv, D, pos, w_.inv_freq.data(), pool_);  // q and k heads are adjacent
  attention_forward(att_.data(), qkv_.data(), pos, groups, H, Hkv, D, cfg_.sliding_window, pool_);
  gemm_nt(att_.data(), H * D, lw.wo.data(), H * D, x.data(), C, T, C, H * D, lw.bo.empty() ? nullptr : lw.bo.data(),
          true, pool_);
  // MLP: x += down(act(up(norm2(x))))
  if (llama)
    rmsnorm_forward(h_.data(), x.data(), lw.norm2_w.data(), T, C, cfg_.norm_eps, pool_);
  else
    layernorm_forward(h_.data(), x.data(), lw.norm2_w.data(), lw.norm2_b.data(), T, C, cfg_.norm_eps, pool_);
  const int64_t U = llama ? 2 * I : I;
  up_.resize(size_t(T * U));
  gemm_nt(h_.data(), C, lw.wup.data(), C, up_.data(), U, T, U, C, lw.bup.empty() ? nullptr : lw.bup.data(), false, pool_);
  const float* a = up_.data();
  if (llama) {
    act_.resize(size_t(T * I));
    swiglu_forward(act_.data(), up_.data(), T, I, pool_);
    a = act_.data();
  } else if (cfg_.act == Act::Gelu) {
    gelu_erf_forward(up_.data(), T * I, pool_);
  } else {
    gelu_tanh_forward(up_.data(), T * I, pool_);
  }
  gemm_nt(a, I, lw.wdown.data(), I, x.data(), C, T, C, I, lw.bdown.empty() ? nullptr : lw.bdown.data(), true, pool_);
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

}  // namespace glam

// LoraAdapter: one LoRA adapter of a fused linear as the host holds it (fp32, with its Hugging Face
// module name); the backends see it as an AdapterParams view (backend/backend.h).
// Y[:, out_off : out_off + out_n] += scale (X A^T) B^T.
// Legend: r adapter rank, in/out features.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace glam {

struct LoraAdapter {
  std::string module;       // Hugging Face module path, e.g. "model.layers.0.self_attn.q_proj"
  int64_t out_off = 0;      // first output column of the fused matrix this adapter adds to
  int64_t out_n = 0, in_n = 0, rank = 0;
  float scale = 1.0f;       // alpha / rank
  std::vector<float> A, B;  // (rank, in_n), (out_n, rank)
};

}  // namespace glam

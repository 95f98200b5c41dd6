// Heads: everything after the decoder blocks, written once over the Backend for both engines and
// both architectures — the final norm of the scored rows, the fused LM head (log-softmax + target
// gather), the value head on each prompt's final hidden state, their backward into the stream's
// gradient, and the host-side assembly of a ScoreResult. The CPU engine (model/cpu_engine.cpp) and
// the CUDA engine (cuda/cuda_engine.cpp, cuda/cuda_training.cpp) differ only in where the buffers
// live; T5 (model/t5_scorer.cpp) runs the same heads after its decoder stack, whose value row is
// decoder position 0 ([decoder_start]) and whose v1.0 head reads hn scaled by C^-0.5 (HeadParams::scale).
// Pipeline (forward), x (T, C) the stream after the last block:
//   hn (R, C) e    = final_norm(x)[rows]          LM-head input, compute type
//   hv (Bv, C)     = final_norm(x)[rows[0:Bv]]    fp32: the value head's input and `hidden`
//   lse (R), tlogit (NT) = fused LM head           log p = tlogit - lse[trow]
//   values (Bv)    = value_head(hv)
// Backward, from d logprob per candidate dl (N) and d value per prompt dv (batch B):
//   dtok (NT) = dl of each target's candidate; dhn (R, C) = LM-head backward
//   dx (T, C) = 0; dx[rows] += final-norm backward of dhn
//   dh (Bv, C) = value-head backward; dx[rows[0:Bv]] += final-norm backward of dh
// Legend: T packed rows, C hidden, R scored rows, NT targets, N candidates, B prompts of the batch,
// Bv = the plan's B (value rows), e compute-type bytes.
// Subtle: with scale != 1 the LM head reads final_norm(x)[rows] * scale (normed in fp32, scaled, then
// cast to the compute type) and its gradient is scaled back; the value head reads the unscaled rows.
// rows[0:Bv] are the plan's value rows (batch_plan.h: the prompts' last rows; in the naive
// plan every naive sequence's last prompt row), and prompt b's value and hidden state sit on row
// value_row[b] of them, so the pass itself never depends on the plan kind.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/batch_plan.h"
#include "model/decoder.h"
#include "model/model_config.h"

namespace glam {

// The plan's row lists in backend memory.
struct PlanRows {
  const int32_t* rows = nullptr;                     // (R)
  const int32_t *trow = nullptr, *tid = nullptr;     // (NT)
  int64_t R = 0, NT = 0, Bv = 0;
};
// The plan's own vectors (host memory: the CPU backend's).
inline PlanRows host_rows(const BatchPlan& p) { return {p.rows.data(), p.trow.data(), p.tid.data(), p.R, p.NT, p.B}; }

// What the heads read of the model: the final norm, the LM head (V, C) and its gradient (null: frozen),
// and the LM head's input scale (T5 v1.0: C^-0.5; 1 otherwise).
struct HeadParams {
  NormParams final_norm;
  const void* head = nullptr;
  float* d_head = nullptr;
  float scale = 1.0f;
};
inline HeadParams head_params(const DecoderParams& p) { return {p.final_norm, p.head, p.d_head, 1.0f}; }

// Where the heads' forward writes (backend memory); a training forward keeps hn, hv, lse, vacts.
struct HeadOut {
  void* hn = nullptr;       // (R, C) compute type
  float* hv = nullptr;      // (Bv, C)
  float* lse = nullptr;     // (R)
  float* tlogit = nullptr;  // (NT)
  float* values = nullptr;  // (Bv)
  std::vector<float*> vacts;  // value-head layer inputs kept for backward (training), else empty
};

// What a training forward keeps for the heads' backward (backend buffers).
struct HeadCache {
  std::unique_ptr<Buffer> x, hn, hv, lse, tlogit, values;
  std::vector<std::unique_ptr<Buffer>> vacts;
  HeadOut out;  // views of the buffers above
  size_t bytes() const;
};

class Heads {
 public:
  // norm: the final norm's kind (the family's; T5: RMSNorm)
  Heads(const ModelConfig& cfg, Backend& be, NormKind norm) : cfg_(cfg), be_(be), norm_(norm) {}

  void forward(const HeadParams& p, const ValueHeadParams& vh, const float* x, const PlanRows& r, const HeadOut& o);
  void forward(const DecoderParams& p, const ValueHeadParams& vh, const float* x, const PlanRows& r, const HeadOut& o) {
    forward(head_params(p), vh, x, r, o);
  }
  // Sizes c's buffers for the plan (x (T, C) included: the caller runs the decoder into c.x) and
  // points c.out at them.
  void prepare(HeadCache& c, const BatchPlan& plan, const ValueHeadParams& vh);
  // dx (T, C) WRITTEN: the gradient of the stream after the last block; parameter gradients +=
  // (p's and vh's, null: frozen). dl (N), dv (batch B) host memory.
  void backward(const HeadParams& p, const ValueHeadParams& vh, float* dx, const BatchPlan& plan, const PlanRows& r,
                const HeadCache& c, const float* dl, const float* dv);
  void backward(const DecoderParams& p, const ValueHeadParams& vh, float* dx, const BatchPlan& plan, const PlanRows& r,
                const HeadCache& c, const float* dl, const float* dv) {
    backward(head_params(p), vh, dx, plan, r, c, dl, dv);
  }

 private:
  // out[n, C] (type t) <- final_norm(x[rows[i], :]); dx[rows[i], :] += its backward of dout[n, C]
  void norm(const HeadParams& p, void* out, DType t, const float* x, const int32_t* rows, int64_t n);
  void norm_backward(const HeadParams& p, float* dx, const float* dout, const float* x, const int32_t* rows, int64_t n);

  const ModelConfig& cfg_;
  Backend& be_;
  NormKind norm_;
  std::unique_ptr<Buffer> dio_, dhn_, dh_;  // backward scratch: dtok|dv (NT + Bv), (R, C), (Bv, C)
  std::unique_ptr<Buffer> hs_;              // scale != 1: the scaled rows in fp32 (R, C)
};

// The pass's outputs, copied to the host, as the score result: token log-probs tlogit - lse[trow],
// candidates' sums (finish_scores), prompt b's value and hidden state from value row value_row[b].
// values / hidden null: zeros / not asked. lse null: token_logprobs already hold the log-probs.
ScoreResult assemble(const BatchPlan& p, const float* lse, const float* tlogit, const float* values,
                     const float* hidden, int64_t C);

}  // namespace glam

// Top-N alternatives over the whole vocabulary (OpenAI's `logprobs` N on /v1/completions): for every
// target token of a scoring pass, the N most likely tokens of the log-softmax its row was drawn from.
// Scoring a prompt as its first token + one candidate (the rest) puts every prompt position on a
// scored row, so one pass of P tokens yields each position's top N (and, with one extra placeholder
// token, the next token's): P rows x V once, instead of one pass per prefix.
// Works over the Backend interface, so both engines share it: the LM head is the backend's linear
// (logits (Rc, V) fp32 = hn E^T, in chunks of rows), the chunk is read on the host (`fetch`: the CPU
// engine hands its own memory, the CUDA engine copies), and the log-softmax, the log-sum-exp and the
// selection run on the host in double.
// Subtle: the fused scorer's token log-probs come from the tiled LM head (lm_head_forward); these
// come from a plain GEMM of the same operands, so the two agree to fp32 rounding, not bit for bit
// (the server reports each position's own token with the scorer's value). Ties: lower id first.
// Legend: R scored rows, C hidden, V vocabulary, NT target tokens, n alternatives, Rc rows per chunk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "backend/backend.h"
#include "model/batch_plan.h"
#include "runtime/thread_pool.h"

namespace glam {

// The most alternatives a pass may ask for (OpenAI allows 20; the rest is headroom).
constexpr int64_t kMaxTopN = 64;

// Returns a host pointer to `count` floats of backend memory at src (the pointer itself on the CPU).
using FetchFloats = std::function<const float*(const float* src, size_t count)>;

// r.top_n = n; r.top_ids, r.top_logprobs (NT, n) for target t = the best n of row trow[t].
// hn (R, C) and E (V, C) in the backend's compute type; pool: the host threads for the per-row
// work (null: one thread).
void vocab_top(Backend& be, const void* hn, int64_t R, const void* E, int64_t V, int64_t C, const int32_t* trow,
               int64_t NT, int64_t n, const FetchFloats& fetch, ThreadPool* pool, ScoreResult& r);

}  // namespace glam

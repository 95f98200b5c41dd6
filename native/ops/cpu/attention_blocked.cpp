// Shared-prefix attention on the CPU as matrix products (the fast path; attention.cpp holds the
// plain per-row reference). Per (group, head):
//   prompt block:  S = Qp Kp^T (P x P, causal mask), softmax rows, Op = S Vp
//   candidates:    Sc = Qc Kp^T (Rc x P: all candidates' queries against the prompt's keys in ONE
//                  product, the prompt's K/V read once), plus each candidate row's own earlier tokens
//                  (a few scalar dot products), one softmax over both parts, Oc = Pc Vp + own part.
// Backward recomputes S from the saved per-row lse and forms dV = P^T dO, dP = dO V^T,
// dS = P (dP - rowsum(P dP)) scale, dQ = dS K, dK = dS^T Q with the same GEMMs; tasks are
// (group, kv head) so a prompt's dK/dV rows are written by one thread.
// Subtle: the causal P x P products are split at P/2 (top rows only against the top keys), so 3/4 of
// the square is computed instead of all of it; masked entries are exact zeros after the softmax and
// the never-computed top-right block is never read.
// Legend: P prompt rows, Rc candidate rows of the group, D head size, H/Hkv heads.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline float dotf(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline bool masked(const int32_t* pos, int64_t qrow, int64_t krow, int64_t window) {
  return window > 0 && int64_t(pos[qrow]) - int64_t(pos[krow]) >= window;
}

// Candidate rows of a group: (row, candidate, index within the candidate), in packed order.
struct CandRow {
  int64_t row, c, j;
};

std::vector<CandRow> cand_rows(const AttentionGroup& g) {
  std::vector<CandRow> r;
  for (size_t c = 0; c < g.cand_start.size(); ++c)
    for (int64_t j = 0; j < g.cand_len[c]; ++j) r.push_back({g.cand_start[c] + j, int64_t(c), j});
  return r;
}

// Probabilities of the prompt block into S (P x P): scores, mask, exp(s - lse) with lse computed
// (forward, lse_out) or given (backward, lse_in).
void prompt_probs(float* S, const float* qkv, int64_t stride, int64_t qoff, int64_t koff, const AttentionGroup& g,
                  int64_t D, float scale, const int32_t* pos, int64_t window, int64_t H, int64_t h, float* lse_out,
                  const float* lse_in, ThreadPool& serial) {
  const int64_t P = g.prefix_len;
  const float* Q = qkv + g.start * stride + qoff;
  const float* K = qkv + g.start * stride + koff;
  // causal: rows [0, h) only see keys [0, h); the top-right block is never read (masked below)
  const int64_t h2 = P / 2;
  gemm_nt(Q, stride, K, stride, S, P, h2, h2, D, nullptr, false, serial);
  gemm_nt(Q + h2 * stride, stride, K, stride, S + h2 * P, P, P - h2, P, D, nullptr, false, serial);
  for (int64_t i = 0; i < P; ++i) {
    float* s = S + i * P;
    const int64_t row = g.start + i;
    float mx = kNegInf;
    for (int64_t j = 0; j < P; ++j) {
      s[j] = (j > i || masked(pos, row, g.start + j, window)) ? kNegInf : s[j] * scale;
      mx = std::max(mx, s[j]);
    }
    float l;
    if (lse_in) {
      l = lse_in[row * H + h];
    } else {
      double sum = 0;
      for (int64_t j = 0; j <= i; ++j) sum += std::exp(s[j] - mx);
      l = float(double(mx) + std::log(sum));
      if (lse_out) lse_out[row * H + h] = l;
    }
    for (int64_t j = 0; j < P; ++j) s[j] = j > i ? 0.0f : std::exp(s[j] - l);
  }
}

// Candidate rows' probabilities: Sc (Rc x P) over the prompt keys and own[r][0..j] over the
// candidate's own rows (stored in a row-major (Rc x maxA) block).
void cand_probs(float* Sc, float* own, int64_t maxA, const float* Qc, const float* qkv, int64_t stride, int64_t koff,
                const AttentionGroup& g, const std::vector<CandRow>& cr, int64_t D, float scale, const int32_t* pos,
                int64_t window, int64_t H, int64_t h, float* lse_out, const float* lse_in, ThreadPool& serial) {
  const int64_t P = g.prefix_len, Rc = int64_t(cr.size());
  gemm_nt(Qc, D, qkv + g.start * stride + koff, stride, Sc, P, Rc, P, D, nullptr, false, serial);
  for (int64_t r = 0; r < Rc; ++r) {
    const CandRow& c = cr[size_t(r)];
    float* s = Sc + r * P;
    float* o = own + r * maxA;
    const float* q = Qc + r * D;
    float mx = kNegInf;
    for (int64_t j = 0; j < P; ++j) {
      s[j] = masked(pos, c.row, g.start + j, window) ? kNegInf : s[j] * scale;
      mx = std::max(mx, s[j]);
    }
    const int64_t cs = g.cand_start[size_t(c.c)];
    for (int64_t j = 0; j <= c.j; ++j) {
      o[j] = masked(pos, c.row, cs + j, window) ? kNegInf : dotf(q, qkv + (cs + j) * stride + koff, D) * scale;
      mx = std::max(mx, o[j]);
    }
    float l;
    if (lse_in) {
      l = lse_in[c.row * H + h];
    } else {
      double sum = 0;
      for (int64_t j = 0; j < P; ++j) sum += std::exp(s[j] - mx);
      for (int64_t j = 0; j <= c.j; ++j) sum += std::exp(o[j] - mx);
      l = float(double(mx) + std::log(sum));
      if (lse_out) lse_out[c.row * H + h] = l;
    }
    for (int64_t j = 0; j < P; ++j) s[j] = std::exp(s[j] - l);
    for (int64_t j = 0; j <= c.j; ++j) o[j] = std::exp(o[j] - l);
  }
}

int64_t max_cand_len(const AttentionGroup& g) {
  int64_t m = 0;
  for (int64_t a : g.cand_len) m = std::max(m, a);
  return m;
}

}  // namespace

void attention_forward(float* out, const float* qkv, const int32_t* pos, const std::vector<AttentionGroup>& groups,
                       int64_t H, int64_t Hkv, int64_t D, int64_t window, ThreadPool& pool, float* lse) {
  const int64_t stride = (H + 2 * Hkv) * D, ostride = H * D, rep = H / Hkv;
  const float scale = float(1.0 / std::sqrt(double(D)));
  pool.run(int64_t(groups.size()) * H, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / H)];
    const int64_t h = task % H, kvh = h / rep;
    const int64_t qoff = h * D, koff = H * D + kvh * D, voff = (H + Hkv) * D + kvh * D;
    const int64_t P = g.prefix_len;
    ThreadPool serial(1);
    thread_local std::vector<float> S, Qc, Sc, own, Oc;  // per-thread scratch, reused across calls
    S.resize(static_cast<size_t>(P * P));
    prompt_probs(S.data(), qkv, stride, qoff, koff, g, D, scale, pos, window, H, h, lse, nullptr, serial);
    const int64_t h2 = P / 2;
    const float* Vp = qkv + g.start * stride + voff;
    float* Op = out + g.start * ostride + qoff;
    gemm_nn(S.data(), P, Vp, stride, Op, ostride, h2, D, h2, false, serial);
    gemm_nn(S.data() + h2 * P, P, Vp, stride, Op + h2 * ostride, ostride, P - h2, D, P, false, serial);
    const std::vector<CandRow> cr = cand_rows(g);
    if (cr.empty()) return;
    const int64_t Rc = int64_t(cr.size()), maxA = max_cand_len(g);
    Qc.resize(static_cast<size_t>(Rc * D));
    Sc.resize(static_cast<size_t>(Rc * P));
    own.resize(static_cast<size_t>(Rc * maxA));
    Oc.resize(static_cast<size_t>(Rc * D));
    for (int64_t r = 0; r < Rc; ++r)
      std::copy_n(qkv + cr[size_t(r)].row * stride + qoff, D, Qc.begin() + r * D);
    cand_probs(Sc.data(), own.data(), maxA, Qc.data(), qkv, stride, koff, g, cr, D, scale, pos, window, H, h, lse,
               nullptr, serial);
    gemm_nn(Sc.data(), P, qkv + g.start * stride + voff, stride, Oc.data(), D, Rc, D, P, false, serial);
    for (int64_t r = 0; r < Rc; ++r) {
      const CandRow& c = cr[size_t(r)];
      float* o = out + c.row * ostride + qoff;
      const float* oc = Oc.data() + r * D;
      for (int64_t d = 0; d < D; ++d) o[d] = oc[d];
      const int64_t cs = g.cand_start[size_t(c.c)];
      for (int64_t j = 0; j <= c.j; ++j) {
        const float p = own[size_t(r * maxA + j)];
        const float* v = qkv + (cs + j) * stride + voff;
        for (int64_t d = 0; d < D; ++d) o[d] += p * v[d];
      }
    }
  });
}

void attention_backward(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                        const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                        int64_t D, int64_t window, ThreadPool& pool) {
  const int64_t stride = (H + 2 * Hkv) * D, ostride = H * D, rep = H / Hkv;
  const float scale = float(1.0 / std::sqrt(double(D)));
  for (const AttentionGroup& g : groups) {  // dK/dV accumulate: zero this backward's rows first
    std::fill(dqkv + g.start * stride, dqkv + (g.start + g.prefix_len) * stride, 0.0f);
    for (size_t c = 0; c < g.cand_start.size(); ++c)
      std::fill(dqkv + g.cand_start[c] * stride, dqkv + (g.cand_start[c] + g.cand_len[c]) * stride, 0.0f);
  }
  pool.run(int64_t(groups.size()) * Hkv, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / Hkv)];
    const int64_t kvh = task % Hkv;
    const int64_t koff = H * D + kvh * D, voff = (H + Hkv) * D + kvh * D;
    const int64_t P = g.prefix_len;
    ThreadPool serial(1);
    const std::vector<CandRow> cr = cand_rows(g);
    const int64_t Rc = int64_t(cr.size()), maxA = max_cand_len(g);
    thread_local std::vector<float> S, dP, Qc, dOc, Sc, dPc, own, dQc;  // per-thread scratch, reused across calls
    S.resize(static_cast<size_t>(P * P));
    dP.resize(static_cast<size_t>(P * P));
    Qc.resize(static_cast<size_t>(Rc * D));
    dOc.resize(static_cast<size_t>(Rc * D));
    Sc.resize(static_cast<size_t>(Rc * P));
    dPc.resize(static_cast<size_t>(Rc * P));
    own.resize(static_cast<size_t>(Rc * maxA));
    dQc.resize(static_cast<size_t>(Rc * D));
    float* dK = dqkv + g.start * stride + koff;
    float* dV = dqkv + g.start * stride + voff;
    const float* K = qkv + g.start * stride + koff;
    const float* V = qkv + g.start * stride + voff;
    for (int64_t h = kvh * rep; h < (kvh + 1) * rep; ++h) {
      const int64_t qoff = h * D;
      const float* Qp = qkv + g.start * stride + qoff;
      const float* dOp = dout + g.start * ostride + qoff;
      float* dQp = dqkv + g.start * stride + qoff;
      // --- prompt block
      prompt_probs(S.data(), qkv, stride, qoff, koff, g, D, scale, pos, window, H, h, nullptr, lse, serial);
      const int64_t h2 = P / 2, P2 = P - h2;
      // dV += S^T dO: top keys see every row, bottom keys only the bottom rows
      gemm_tn(S.data(), P, dOp, ostride, dV, stride, h2, D, P, true, serial);
      gemm_tn(S.data() + h2 * P + h2, P, dOp + h2 * ostride, ostride, dV + h2 * stride, stride, P2, D, P2, true, serial);
      // dP = dO V^T on the computed blocks only
      gemm_nt(dOp, ostride, V, stride, dP.data(), P, h2, h2, D, nullptr, false, serial);
      gemm_nt(dOp + h2 * ostride, ostride, V, stride, dP.data() + h2 * P, P, P2, P, D, nullptr, false, serial);
      for (int64_t i = 0; i < P; ++i) {
        float* p = S.data() + i * P;
        const float* dp = dP.data() + i * P;
        float Di = 0;
        for (int64_t j = 0; j <= i; ++j) Di += p[j] * dp[j];
        for (int64_t j = 0; j <= i; ++j) p[j] = p[j] * (dp[j] - Di) * scale;  // S <- dS; j > i stays 0
      }
      gemm_nn(S.data(), P, K, stride, dQp, stride, h2, D, h2, true, serial);  // dQ += dS K
      gemm_nn(S.data() + h2 * P, P, K, stride, dQp + h2 * stride, stride, P2, D, P, true, serial);
      gemm_tn(S.data(), P, Qp, stride, dK, stride, h2, D, P, true, serial);  // dK += dS^T Q
      gemm_tn(S.data() + h2 * P + h2, P, Qp + h2 * stride, stride, dK + h2 * stride, stride, P2, D, P2, true, serial);
      if (Rc == 0) continue;
      // --- candidate rows: prompt part as products, own part as dot products
      for (int64_t r = 0; r < Rc; ++r) {
        std::copy_n(qkv + cr[size_t(r)].row * stride + qoff, D, Qc.begin() + r * D);
        std::copy_n(dout + cr[size_t(r)].row * ostride + qoff, D, dOc.begin() + r * D);
      }
      cand_probs(Sc.data(), own.data(), maxA, Qc.data(), qkv, stride, koff, g, cr, D, scale, pos, window, H, h, nullptr,
                 lse, serial);
      gemm_tn(Sc.data(), P, dOc.data(), D, dV, stride, P, D, Rc, true, serial);            // dV += Pc^T dOc
      gemm_nt(dOc.data(), D, V, stride, dPc.data(), P, Rc, P, D, nullptr, false, serial);  // dPc = dOc V^T
      std::fill(dQc.begin(), dQc.end(), 0.0f);
      for (int64_t r = 0; r < Rc; ++r) {
        const CandRow& c = cr[size_t(r)];
        const int64_t cs = g.cand_start[size_t(c.c)];
        float* p = Sc.data() + r * P;
        const float* dp = dPc.data() + r * P;
        float* o = own.data() + r * maxA;
        const float* dO = dOc.data() + r * D;
        const float* q = Qc.data() + r * D;
        float Di = 0;
        for (int64_t j = 0; j < P; ++j) Di += p[j] * dp[j];
        float dpo[64];
        std::vector<float> dpo_big;
        float* dpov = dpo;
        if (c.j + 1 > 64) {
          dpo_big.resize(size_t(c.j + 1));
          dpov = dpo_big.data();
        }
        for (int64_t j = 0; j <= c.j; ++j) {
          dpov[j] = dotf(dO, qkv + (cs + j) * stride + voff, D);
          Di += o[j] * dpov[j];
        }
        for (int64_t j = 0; j < P; ++j) p[j] = p[j] * (dp[j] - Di) * scale;
        float* dq = dQc.data() + r * D;
        for (int64_t j = 0; j <= c.j; ++j) {
          const float ds = o[j] * (dpov[j] - Di) * scale;
          const int64_t krow = cs + j;
          const float* k = qkv + krow * stride + koff;
          float* dk = dqkv + krow * stride + koff;
          float* dv = dqkv + krow * stride + voff;
          for (int64_t d = 0; d < D; ++d) {
            dq[d] += ds * k[d];
            dk[d] += ds * q[d];
            dv[d] += o[j] * dO[d];
          }
        }
      }
      gemm_nn(Sc.data(), P, K, stride, dQc.data(), D, Rc, D, P, true, serial);  // dQc += dSc K
      gemm_tn(Sc.data(), P, Qc.data(), D, dK, stride, P, D, Rc, true, serial);  // dK += dSc^T Qc
      for (int64_t r = 0; r < Rc; ++r) {
        float* dq = dqkv + cr[size_t(r)].row * stride + qoff;
        const float* s = dQc.data() + r * D;
        for (int64_t d = 0; d < D; ++d) dq[d] += s[d];
      }
    }
  });
}

}  // namespace glam::cpu

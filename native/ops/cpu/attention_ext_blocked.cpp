// The fast path of attention_ext (attention_ext.cpp holds the row-by-row version, which naive plans
// and decoder self-attention with candidates run) for the groups whose query rows all see the same
// keys: an encoder's bidirectional prompt (no candidates) and cross attention (every row of a decoder
// group against its prompt's encoder rows). Per (group, head), as matrix products:
//   S = Q K^T (nq x nk) * scale + bias[bucket] ; P = softmax rows (lse kept) ; O = P V
// backward (from the saved lse): dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(dO . O)),
// dbias[bucket] += dS, dQ = scale dS K, dK = scale dS^T Q.
// Subtle: query rows are gathered into a contiguous block (a decoder group's rows are its start row
// and its candidates' rows); tasks are (group, kv head), so a group's dK/dV rows have one writer; the
// bias gradient is summed per task in double and reduced in group order by the caller.
// Legend: nq query rows of a group, nk its key rows, D head size, H heads, NB buckets.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/attention_ext.h"
#include "ops/cpu/gemm.h"

namespace glam::cpu {

bool ext_blocked(const AttentionGroup& g, const AttentionGroup* kvg, const AttentionSpec& s) {
  return s.window == 0 && (kvg != nullptr || (g.cand_start.empty() && !s.causal));
}

namespace {

std::vector<int64_t> query_rows(const AttentionGroup& g) {
  std::vector<int64_t> r;
  for (int64_t i = 0; i < g.prefix_len; ++i) r.push_back(g.start + i);
  for (size_t c = 0; c < g.cand_start.size(); ++c)
    for (int64_t j = 0; j < g.cand_len[c]; ++j) r.push_back(g.cand_start[c] + j);
  return r;
}

// P (nq x nk) <- the probabilities of head h; with lse_out, the row log-sum-exps are computed and kept.
void probs(std::vector<float>& P, const std::vector<float>& Q, const std::vector<int64_t>& qrows, const ExtView& v,
           int64_t kstart, int64_t nk, int64_t h, int64_t koff, float* lse_out, const float* lse_in, ThreadPool& serial) {
  const int64_t nq = int64_t(qrows.size()), D = v.D;
  P.resize(size_t(nq * nk));
  gemm_nt(Q.data(), D, v.kv + kstart * v.kvstride + koff, v.kvstride, P.data(), nk, nq, nk, D, nullptr, false, serial);
  for (int64_t i = 0; i < nq; ++i) {
    float* row = P.data() + i * nk;
    for (int64_t j = 0; j < nk; ++j) row[j] = row[j] * v.scale + v.bias_of(qrows[size_t(i)], kstart + j, h);
    float l;
    if (lse_out) {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < nk; ++j) mx = std::max(mx, row[j]);
      double sum = 0;
      for (int64_t j = 0; j < nk; ++j) sum += std::exp(row[j] - mx);
      l = float(double(mx) + std::log(sum));
      lse_out[qrows[size_t(i)] * v.H + h] = l;
    } else {
      l = lse_in[qrows[size_t(i)] * v.H + h];
    }
    for (int64_t j = 0; j < nk; ++j) row[j] = std::exp(row[j] - l);
  }
}

void gather(std::vector<float>& dst, const float* base, int64_t stride, const std::vector<int64_t>& rows, int64_t D) {
  dst.resize(rows.size() * size_t(D));
  for (size_t i = 0; i < rows.size(); ++i) std::copy(base + rows[i] * stride, base + rows[i] * stride + D, dst.begin() + i * D);
}

}  // namespace

void ext_blocked_forward(float* out, float* lse, const ExtView& v, const AttentionGroup& g, const AttentionGroup* kvg,
                         int64_t h) {
  ThreadPool serial(1);
  const int64_t D = v.D, koff = v.koff + (h / v.rep) * D, voff = v.voff + (h / v.rep) * D;
  const int64_t kstart = kvg ? kvg->start : g.start, nk = kvg ? kvg->prefix_len : g.prefix_len;
  const std::vector<int64_t> qrows = query_rows(g);
  std::vector<float> Q, P, O(qrows.size() * size_t(D));
  gather(Q, v.qkv + h * D, v.qstride, qrows, D);
  std::vector<float> lse_tmp;
  float* lse_out = lse;
  if (!lse_out) {  // the rows still need their normaliser
    lse_tmp.assign(size_t((qrows.empty() ? 0 : *std::max_element(qrows.begin(), qrows.end()) + 1) * v.H), 0.0f);
    lse_out = lse_tmp.data();
  }
  probs(P, Q, qrows, v, kstart, nk, h, koff, lse_out, nullptr, serial);
  gemm_nn(P.data(), nk, v.kv + kstart * v.kvstride + voff, v.kvstride, O.data(), D, int64_t(qrows.size()), D, nk, false,
          serial);
  for (size_t i = 0; i < qrows.size(); ++i) std::copy(O.begin() + i * D, O.begin() + (i + 1) * D, out + qrows[i] * v.H * D + h * D);
}

void ext_blocked_backward(float* dqkv, float* dkv, double* dbias, const float* dout, const float* out, const float* lse,
                          const ExtView& v, const AttentionGroup& g, const AttentionGroup* kvg, int64_t kvh) {
  ThreadPool serial(1);
  const int64_t D = v.D, koff = v.koff + kvh * D, voff = v.voff + kvh * D;
  const int64_t kstart = kvg ? kvg->start : g.start, nk = kvg ? kvg->prefix_len : g.prefix_len;
  const std::vector<int64_t> qrows = query_rows(g);
  const int64_t nq = int64_t(qrows.size());
  std::vector<float> Q, dO, P, dP(size_t(nq * nk)), dQ(size_t(nq * D)), dK(size_t(nk * D)), dV(size_t(nk * D));
  const float* K = v.kv + kstart * v.kvstride + koff;
  const float* V = v.kv + kstart * v.kvstride + voff;
  for (int64_t h = kvh * v.rep; h < (kvh + 1) * v.rep; ++h) {
    gather(Q, v.qkv + h * D, v.qstride, qrows, D);
    gather(dO, dout + h * D, v.H * D, qrows, D);
    probs(P, Q, qrows, v, kstart, nk, h, koff, nullptr, lse, serial);
    gemm_tn(P.data(), nk, dO.data(), D, dV.data(), D, nk, D, nq, h > kvh * v.rep, serial);  // dV (+)= P^T dO
    gemm_nt(dO.data(), D, V, v.kvstride, dP.data(), nk, nq, nk, D, nullptr, false, serial);  // dP = dO V^T
    for (int64_t i = 0; i < nq; ++i) {
      const float* o = out + qrows[size_t(i)] * v.H * D + h * D;
      float Di = 0;
      for (int64_t d = 0; d < D; ++d) Di += dO[size_t(i * D + d)] * o[d];
      float* ds = dP.data() + i * nk;
      const float* p = P.data() + i * nk;
      for (int64_t j = 0; j < nk; ++j) {
        ds[j] = p[j] * (ds[j] - Di);
        if (dbias) dbias[v.bucket(qrows[size_t(i)], kstart + j) * v.rep + (h - kvh * v.rep)] += ds[j];
        ds[j] *= v.scale;
      }
    }
    gemm_nn(dP.data(), nk, K, v.kvstride, dQ.data(), D, nq, D, nk, false, serial);       // dQ = dS K
    gemm_tn(dP.data(), nk, Q.data(), D, dK.data(), D, nk, D, nq, h > kvh * v.rep, serial);  // dK (+)= dS^T Q
    for (int64_t i = 0; i < nq; ++i) std::copy(dQ.begin() + i * D, dQ.begin() + (i + 1) * D, dqkv + qrows[size_t(i)] * v.qstride + h * D);
  }
  for (int64_t j = 0; j < nk; ++j) {
    std::copy(dK.begin() + j * D, dK.begin() + (j + 1) * D, dkv + (kstart + j) * v.kvstride + koff);
    std::copy(dV.begin() + j * D, dV.begin() + (j + 1) * D, dkv + (kstart + j) * v.kvstride + voff);
  }
}

}  // namespace glam::cpu

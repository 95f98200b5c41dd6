// Token (and learned position) embedding gather on the CPU; backward (scatter-add) sits beside it in part 2.
// Subtle: ids are validated by the model layer before this runs; this op trusts them.
#include <cstring>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {

void embedding_forward(float* out, const int32_t* ids, const int32_t* pos, int64_t T, const float* table,
                       const float* pos_table, int64_t C, ThreadPool& pool) {
  pool.parallel_for(T, 64, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      float* o = out + t * C;
      std::memcpy(o, table + int64_t(ids[t]) * C, sizeof(float) * C);
      if (pos_table) {
        const float* p = pos_table + int64_t(pos[t]) * C;
        for (int64_t c = 0; c < C; ++c) o[c] += p[c];
      }
    }
  });
}

void embedding_backward(float* dtable, int64_t V, float* dpos_table, int64_t maxPos, const float* dout,
                        const int32_t* ids, const int32_t* pos, int64_t T, int64_t C, ThreadPool& pool) {
  // Each task owns a contiguous range of table rows and scans every packed row in order.
  auto scatter = [&](float* table, int64_t rows, const int32_t* idx) {
    pool.parallel_for(rows, 256, [&](int64_t b, int64_t e) {
      for (int64_t t = 0; t < T; ++t) {
        const int64_t id = idx[t];
        if (id < b || id >= e) continue;
        float* o = table + id * C;
        const float* d = dout + t * C;
        for (int64_t c = 0; c < C; ++c) o[c] += d[c];
      }
    });
  };
  if (dtable) scatter(dtable, V, ids);
  if (dpos_table) scatter(dpos_table, maxPos, pos);
}

}  // namespace glam::cpu

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

}  // namespace glam::cpu

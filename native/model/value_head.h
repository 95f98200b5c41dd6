// ValueHead: GLAM's value MLP on a prompt's last-token final hidden state as the host holds it:
// C -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1 (sizes configurable). Weights are created (seeded)
// and saved by the TS side (lib/policy/value-head.ts) and handed over as fp32 arrays; the backends
// run it (Backend::value_head_forward/backward) through a ValueHeadParams view.
// Legend: B prompts, C hidden.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace glam {

struct ValueHead {
  std::vector<int64_t> sizes;              // (layers+1): C, hidden..., 1
  std::vector<std::vector<float>> weight;  // layer i: (sizes[i+1], sizes[i])
  std::vector<std::vector<float>> bias;    // layer i: (sizes[i+1])

  bool empty() const { return weight.empty(); }
};

// The head's host vectors as backend params (the CPU backend's memory is host memory); no gradients.
ValueHeadParams view(const ValueHead& h);

}  // namespace glam

// The host value head as backend params; see value_head.h.
#include "model/value_head.h"

namespace glam {

ValueHeadParams view(const ValueHead& h) {
  ValueHeadParams p;
  p.sizes = h.sizes;
  for (size_t i = 0; i < h.weight.size(); ++i) {
    p.W.push_back(h.weight[i].data());
    p.b.push_back(h.bias[i].data());
  }
  return p;
}

}  // namespace glam

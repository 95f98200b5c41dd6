// DType: the element type of a backend tensor that is not always fp32 (compute-type tensors).
#pragma once
#include <cstddef>

namespace glam {

enum class DType { F32, BF16 };
inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

}  // namespace glam

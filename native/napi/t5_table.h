// t5Table(): T5's Hugging Face tensor names as data (model/t5_weights.h's t5_layout, the table the
// native loader, the exporter and the optimizer's parameter list read), exported so that
// lib/io/t5-weights.ts lists a T5 config's tensors from the same table: the names exist once.
//   t5Table() -> { embed, embedAlias, lmHead, relBias,
//     encoder: { prefix, finalNorm, parts: [{ name, rows: Dim, cols: Dim | null, ff: 'any' | 'gated' | 'relu' }] },
//     decoder: { ... } }
//   Dim: 'V' | 'C' | 'HD' | 'I' | 'NB' | 'H' (vocab, d_model, heads x d_kv, d_ff, buckets, heads).
//   A block tensor is prefix + "<l>." + name; relBias exists under block 0 of each stack only; a part
//   whose ff is 'gated' exists in gated-gelu models only, 'relu' in ReLU ones only.
#pragma once
#include <napi.h>

namespace glam::napi {

Napi::Value T5Table(const Napi::CallbackInfo& info);

}  // namespace glam::napi

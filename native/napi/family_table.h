// familyTable(): the architecture families as data (model/family.h's table, the one the loader, the
// exporter and the LoRA targets read), exported so lib/io/weights.ts lists a config's Hugging Face
// tensors from the same table: the weight names exist once, in native/model/family.cpp.
//   familyTable() -> { [name]: { norm: 'rms' | 'layer', normBias, pos: 'rope' | 'learned', gatedMlp,
//     embed, posEmbed, finalNorm, lmHead, layerPrefix, norm1, norm2,
//     linears: [{ role: 'qkv' | 'o' | 'up' | 'down', in: Dim, conv1d, parts: [{ module, rows: Dim }] }] } }
//   Dim: 'C' | 'I' | 'HD' | 'KvD' | 'C3' (hidden, MLP width, heads x head size, kv heads x head size, 3 x hidden)
#pragma once
#include <napi.h>

namespace glam::napi {

Napi::Value FamilyTable(const Napi::CallbackInfo& info);

}  // namespace glam::napi

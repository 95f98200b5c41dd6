// Planning hooks of the CUDA backend, exported by the CPU test addon (glam_cpu_test.node) as
// exports.plan so the GPU pass's host-side bookkeeping is tested on every machine
// (test/native/cuda-plan.test.ts, cuda-train-plan.test.ts):
//   plan.workspace(config, shape, precision) -> { total, Vt, offsets: {name: bytes} }
//     shape: { T, B, R, NT, ntiles, valueWidth? }; precision: 'bf16' | 'fp32'
//   plan.checkFits(config, shape, precision, availableBytes) -> undefined, or throws BatchTooLarge
//   plan.maxTokens(config, shape, precision, availableBytes) -> number
//   plan.batch(config, batch) -> { T, B, N, R, NT, rows, trow, tid, tokOff, rowsPerTile,
//                                  tiles: Int32Array (ntiles*4: promptStart, first, count, nkeys),
//                                  arows: Int32Array (T*3: row, nprompt, ownStart), signature,
//                                  kvTiles: Int32Array (nkv*5: promptStart, key0, nkeys, first, count),
//                                  rowOff (R+1), rowTgt (NT): targets grouped by scored row }
//   plan.train(config, trainShape, precision) -> { cacheTotal, scratchTotal, bytesPerToken, Vt, metaBytes,
//                                                  layers: [{x1, x2, qkv, att, lse, up, loraT}], offsets }
//     trainShape: WorkspaceShape's counts plus nkv, loraRank? (L), loraRmax?, valueSizes? (C, hidden..., 1)
//   plan.optimizerState(matrixParams, fp32Params, precision) -> { grads, moments, masters, total }
//   plan.maxTrainTokens(config, trainShape, precision, availableBytes) -> number (0: not even one token)
//   plan.t5(config, batch, naive) -> { Te, Td, encPos, decPos, enc, dec, cross } (model/t5_scorer.h's
//       plan_t5): enc, dec = { groups: [{start, prefixLen, candStart, candLen}], arows, tiles, kvTiles,
//       rowsPerTile, bidirectional } (the lists as in plan.batch); cross = { arows, tiles, kvTiles }
//   plan.bucketCuts(rels Int32Array, bidirectional, numBuckets, maxDistance) -> Int32Array: each
//       rel's bucket through RelBucketCuts (what the CUDA kernels compute; ops/relative_buckets.h)
// Pure C++: nothing here touches CUDA.
#include <napi.h>

#include "model/batch_plan.h"
#include "model/t5_scorer.h"
#include "ops/relative_buckets.h"
#include "cuda/train_plan.h"
#include "cuda/workspace_plan.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/tensor_args.h"

namespace glam::napi {

namespace {

// A count: a non-negative integer (below 2^53, so exact as a double).
int64_t whole(double v, const std::string& what) {
  GLAM_CHECK(v >= 0 && v < 9.0e15 && v == double(int64_t(v)), "InvalidArgument", what + " must be a non-negative integer");
  return int64_t(v);
}

// { name: bytes } of a plan's buffer offsets.
Napi::Object offsets_object(Napi::Env env, std::initializer_list<std::pair<const char*, size_t>> named) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : named) o.Set(k, double(v));
  return o;
}

cuda::WorkspaceShape shape_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Object o = obj_arg(info, i, "shape");
  auto count = [&](const char* k, bool required) { return whole(num(o, k, 0, required), std::string("shape.") + k); };
  cuda::WorkspaceShape s;
  s.T = count("T", true);
  s.B = count("B", true);
  s.R = count("R", true);
  s.NT = count("NT", true);
  s.ntiles = count("ntiles", true);
  s.value_width = count("valueWidth", false);
  return s;
}

bool bf16_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) fail("InvalidArgument", "precision must be 'bf16' or 'fp32'");
  const std::string p = info[i].As<Napi::String>().Utf8Value();
  GLAM_CHECK(p == "bf16" || p == "fp32", "InvalidArgument", "precision must be 'bf16' or 'fp32'");
  return p == "bf16";
}

size_t bytes_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) fail("InvalidArgument", "availableBytes must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  GLAM_CHECK(d >= 0 && d < 9.0e15, "InvalidArgument", "availableBytes must be a non-negative number");
  return size_t(d);
}

Napi::Value Workspace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  const cuda::WorkspacePlan p = cuda::plan_workspace(cfg, shape_arg(info, 1), bf16_arg(info, 2));
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", double(p.total));
  o.Set("Vt", double(p.Vt));
  o.Set("metaBytes", double(p.meta_bytes));
  o.Set("offsets", offsets_object(env, {{"x", p.x}, {"h", p.h}, {"qkv", p.qkv}, {"att", p.att}, {"up", p.up},
                                         {"act", p.act}, {"hn", p.hn}, {"hn32", p.hn32}, {"logits", p.logits},
                                         {"runMax", p.run_max}, {"runSum", p.run_sum}, {"lse", p.lse},
                                         {"tlogit", p.tlogit}, {"vhA", p.vh_a}, {"vhB", p.vh_b}, {"values", p.values},
                                         {"ids", p.ids}, {"pos", p.pos}, {"rows", p.rows}, {"trow", p.trow},
                                         {"tid", p.tid}, {"tiles", p.tiles}, {"arows", p.arows}}));
  return o;
  GLAM_NAPI_CATCH(env)
}

Napi::Value CheckFits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  cuda::check_fits(model_config(obj_arg(info, 0, "config")), shape_arg(info, 1), bf16_arg(info, 2), bytes_arg(info, 3));
  return env.Undefined();
  GLAM_NAPI_CATCH(env)
}

Napi::Value MaxTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  return Napi::Number::New(env, double(cuda::max_tokens_fitting(model_config(obj_arg(info, 0, "config")),
                                                                shape_arg(info, 1), bf16_arg(info, 2),
                                                                bytes_arg(info, 3))));
  GLAM_NAPI_CATCH(env)
}

Napi::Value Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  const BatchPlan p = plan_batch(cfg, batch_arg(info, 1));
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : {std::pair<const char*, int64_t>{"T", p.T}, {"B", p.B}, {"N", p.N}, {"R", p.R}, {"NT", p.NT}})
    o.Set(k, double(v));
  o.Set("rowsPerTile", p.rows_per_tile);
  o.Set("rows", to_typed<int32_t, Napi::Int32Array>(env, p.rows));
  o.Set("trow", to_typed<int32_t, Napi::Int32Array>(env, p.trow));
  o.Set("tid", to_typed<int32_t, Napi::Int32Array>(env, p.tid));
  std::vector<double> tok(p.tok_off.begin(), p.tok_off.end());
  o.Set("tokOff", to_typed<double, Napi::Float64Array>(env, tok));
  std::vector<int32_t> tiles, arows;
  for (const auto& t : p.tiles) tiles.insert(tiles.end(), {t.prompt_start, t.first, t.count, t.nkeys});
  for (const auto& r : p.arows) arows.insert(arows.end(), {r.row, r.nprompt, r.own_start});
  o.Set("tiles", to_typed<int32_t, Napi::Int32Array>(env, tiles));
  o.Set("arows", to_typed<int32_t, Napi::Int32Array>(env, arows));
  std::vector<int32_t> kv;
  for (const auto& t : p.kv_tiles) kv.insert(kv.end(), {t.prompt_start, t.key0, t.nkeys, t.first, t.count});
  o.Set("kvTiles", to_typed<int32_t, Napi::Int32Array>(env, kv));
  o.Set("rowOff", to_typed<int32_t, Napi::Int32Array>(env, p.row_off));
  o.Set("rowTgt", to_typed<int32_t, Napi::Int32Array>(env, p.row_tgt));
  std::vector<double> sig;
  for (int64_t v : p.signature()) sig.push_back(double(v));
  o.Set("signature", to_typed<double, Napi::Float64Array>(env, sig));
  return o;
  GLAM_NAPI_CATCH(env)
}

// The training plan's shape (native/cuda/train_plan.h): shape_arg's counts, nkv and the LoRA / value-head lists.
cuda::TrainShape train_shape_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Object o = obj_arg(info, i, "shape");
  auto count = [&](const char* k, bool required) { return whole(num(o, k, 0, required), std::string("shape.") + k); };
  auto list = [&](const char* k) {
    std::vector<int64_t> out;
    Napi::Value v = o.Get(k);
    if (v.IsUndefined() || v.IsNull()) return out;
    GLAM_CHECK(v.IsArray(), "InvalidArgument", std::string("shape.") + k + " must be an array of integers");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t j = 0; j < a.Length(); ++j) {
      Napi::Value e = a.Get(j);
      GLAM_CHECK(e.IsNumber(), "InvalidArgument", std::string("shape.") + k + " must be an array of integers");
      out.push_back(whole(e.As<Napi::Number>().DoubleValue(), std::string("shape.") + k + "[]"));
    }
    return out;
  };
  const cuda::WorkspaceShape w = shape_arg(info, i);  // the counts both shapes have
  cuda::TrainShape s;
  s.T = w.T;
  s.B = w.B;
  s.R = w.R;
  s.NT = w.NT;
  s.ntiles = w.ntiles;
  s.nkv = count("nkv", true);
  s.lora_rank = list("loraRank");
  s.lora_rmax = count("loraRmax", false);
  s.value_sizes = list("valueSizes");
  return s;
}

Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  const cuda::TrainShape s = train_shape_arg(info, 1);
  const bool bf16 = bf16_arg(info, 2);
  const cuda::TrainPlan p = cuda::plan_training(cfg, s, bf16);
  Napi::Object o = Napi::Object::New(env);
  o.Set("cacheTotal", double(p.cache_total));
  o.Set("scratchTotal", double(p.scratch_total));
  o.Set("bytesPerToken", cuda::cache_bytes_per_token(cfg, s, bf16));
  o.Set("Vt", double(p.Vt));
  o.Set("metaBytes", double(p.meta_bytes));
  return o;
  GLAM_NAPI_CATCH(env)
}

Napi::Value OptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  auto count = [&](size_t i, const char* what) {
    GLAM_CHECK(info.Length() > i && info[i].IsNumber(), "InvalidArgument", std::string(what) + " must be a number");
    return whole(info[i].As<Napi::Number>().DoubleValue(), what);
  };
  const cuda::StateBytes b =
      cuda::optimizer_state_bytes(count(0, "matrixParams"), count(1, "fp32Params"), bf16_arg(info, 2));
  Napi::Object o = Napi::Object::New(env);
  o.Set("grads", double(b.grads));
  o.Set("moments", double(b.moments));
  o.Set("masters", double(b.masters));
  o.Set("total", double(b.total()));
  return o;
  GLAM_NAPI_CATCH(env)
}

Napi::Value MaxTrainTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  return Napi::Number::New(env, double(cuda::max_train_tokens(model_config(obj_arg(info, 0, "config")),
                                                              train_shape_arg(info, 1), bf16_arg(info, 2),
                                                              bytes_arg(info, 3))));
  GLAM_NAPI_CATCH(env)
}

// The CUDA lists of one AttentionRows (arows, tiles, kv tiles as in Batch) into o.
void set_lists(Napi::Env env, Napi::Object o, const std::vector<cuda::AttnRow>& ar, const std::vector<cuda::AttnTile>& tl,
               const std::vector<cuda::AttnKvTile>& kt) {
  std::vector<int32_t> tiles, arows, kv;
  for (const auto& t : tl) tiles.insert(tiles.end(), {t.prompt_start, t.first, t.count, t.nkeys});
  for (const auto& r : ar) arows.insert(arows.end(), {r.row, r.nprompt, r.own_start});
  for (const auto& t : kt) kv.insert(kv.end(), {t.prompt_start, t.key0, t.nkeys, t.first, t.count});
  o.Set("tiles", to_typed<int32_t, Napi::Int32Array>(env, tiles));
  o.Set("arows", to_typed<int32_t, Napi::Int32Array>(env, arows));
  o.Set("kvTiles", to_typed<int32_t, Napi::Int32Array>(env, kv));
}

Napi::Object rows_object(Napi::Env env, const AttentionRows& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array groups = Napi::Array::New(env, r.groups.size());
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const AttentionGroup& g = r.groups[i];
    Napi::Object go = Napi::Object::New(env);
    go.Set("start", double(g.start));
    go.Set("prefixLen", double(g.prefix_len));
    go.Set("candStart", to_typed<double, Napi::Float64Array>(env, std::vector<double>(g.cand_start.begin(), g.cand_start.end())));
    go.Set("candLen", to_typed<double, Napi::Float64Array>(env, std::vector<double>(g.cand_len.begin(), g.cand_len.end())));
    groups.Set(uint32_t(i), go);
  }
  o.Set("groups", groups);
  o.Set("rowsPerTile", r.rows_per_tile);
  o.Set("bidirectional", r.bidirectional);
  set_lists(env, o, r.arows, r.tiles, r.kv_tiles);
  return o;
}

Napi::Value T5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  GLAM_CHECK(cfg.family == Family::T5, "InvalidArgument", "plan.t5() takes a T5 config");
  const T5Plan p = plan_t5(cfg, batch_arg(info, 1), info.Length() > 2 && info[2].ToBoolean().Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("Te", double(p.Te));
  o.Set("Td", double(p.dec.T));
  o.Set("encPos", to_typed<int32_t, Napi::Int32Array>(env, p.enc_pos));
  o.Set("decPos", to_typed<int32_t, Napi::Int32Array>(env, p.dec.pos));
  o.Set("enc", rows_object(env, p.enc));
  o.Set("dec", rows_object(env, p.dec));
  Napi::Object cross = Napi::Object::New(env);
  set_lists(env, cross, p.dec.cross_arows, p.dec.cross_tiles, p.dec.cross_kv_tiles);
  o.Set("cross", cross);
  return o;
  GLAM_NAPI_CATCH(env)
}

Napi::Value BucketCuts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  if (info.Length() < 4 || !info[0].IsTypedArray()) fail("InvalidArgument", "bucketCuts(rels, bidirectional, numBuckets, maxDistance)");
  auto rels = info[0].As<Napi::Int32Array>();
  const bool bidir = info[1].ToBoolean().Value();
  const int64_t nb = int64_t(info[2].ToNumber().DoubleValue()), md = int64_t(info[3].ToNumber().DoubleValue());
  GLAM_CHECK(nb >= 4 && nb <= kMaxRelBuckets && md > nb / 2, "InvalidArgument",
             "numBuckets in [4, 128] and maxDistance beyond the decoder's exact buckets (numBuckets / 2)");
  const RelBucketCuts c = relative_bucket_cuts(bidir, nb, md);
  std::vector<int32_t> out(rels.ElementLength());
  for (size_t i = 0; i < out.size(); ++i) out[i] = relative_bucket_cut(rels[i], c);
  return to_typed<int32_t, Napi::Int32Array>(env, out);
  GLAM_NAPI_CATCH(env)
}

}  // namespace

void register_plan_exports(Napi::Env env, Napi::Object exports) {
  Napi::Object plan = Napi::Object::New(env);
  plan.Set("workspace", Napi::Function::New(env, Workspace));
  plan.Set("checkFits", Napi::Function::New(env, CheckFits));
  plan.Set("maxTokens", Napi::Function::New(env, MaxTokens));
  plan.Set("batch", Napi::Function::New(env, Batch));
  plan.Set("train", Napi::Function::New(env, Train));
  plan.Set("optimizerState", Napi::Function::New(env, OptimizerState));
  plan.Set("maxTrainTokens", Napi::Function::New(env, MaxTrainTokens));
  plan.Set("t5", Napi::Function::New(env, T5));
  plan.Set("bucketCuts", Napi::Function::New(env, BucketCuts));
  exports.Set("plan", plan);
}

}  // namespace glam::napi

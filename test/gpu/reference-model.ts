// The whole scoring pass composed from the kernel references (reference.ts) in the same pipeline as
// the CUDA engine (native/cuda/cuda_engine.cpp): embed -> per layer (norm, q|k|v, RoPE, shared-prefix
// attention, o_proj + residual, norm, MLP + residual) -> final norm of the scored rows -> LM head
// log-sum-exp and target logits. reference.test.ts runs it on the CPU against transformers' float64
// log-probs (expected.json), which validates the references the GPU tests trust.
// Legend: T packed rows, B prompts, C hidden, H heads, Hkv kv heads, D head size, I MLP width.
import type { ModelConfig } from '../../lib/io/model-config.js';
import type { Tensor } from '../../lib/io/safetensors-format.js';
import { bf16Round } from './gpu.js';
import * as ref from './reference.js';

function f32(t: Tensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < n; ++i) {
    if (t.dtype === 'F32') out[i] = dv.getFloat32(4 * i, true);
    else if (t.dtype === 'BF16') out[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0]!;
    else {
      const h = dv.getUint16(2 * i, true), e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
      out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  return out;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** RoPE inverse frequencies as native/model/weights.cpp (and transformers) compute them. */
function invFreq(c: ModelConfig): Float32Array {
  const D = c.headDim;
  const inv = Float32Array.from({ length: D / 2 }, (_, i) => 1 / c.ropeTheta ** ((2 * i) / D));
  const s = c.ropeScaling;
  if (!s) return inv;
  const low = s.originalMaxPositions / s.lowFreqFactor, high = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wl = (2 * Math.PI) / f;
    let scaled = wl > low ? f / s.factor : f;
    if (!(wl < high) && !(wl > low)) {
      const smooth = (s.originalMaxPositions / wl - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      scaled = ((1 - smooth) * scaled) / s.factor + smooth * scaled;
    }
    return scaled;
  });
}

const add = (x: Float32Array, y: ArrayLike<number>) => x.map((v, i) => v + y[i]!);

/**
 * bf16: the CUDA engine's bf16 mode simulated — weight matrices and every GEMM input (norm outputs,
 * attention output, MLP activation, final-norm rows) rounded to bf16; the residual stream, norm
 * weights, biases and all statistics stay exact. What its log-probs may differ from fp32 by.
 */
export function referenceScore(c: ModelConfig, w: Map<string, Tensor>, prompts: number[][], candidates: number[][][], bf16 = false):
{ logprobs: number[]; tokenLogprobs: number[]; hidden: Float32Array } {
  const rd = (x: Float32Array) => (bf16 ? bf16Round(x) : x);
  const get = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`reference model: missing ${name}`);
    const v = f32(t);
    return t.shape.length === 2 ? rd(v) : v; // matrices are stored in the compute type, vectors in fp32
  };
  const opt = (name: string) => (w.has(name) ? get(name) : undefined);
  const C = c.hiddenSize, H = c.numHeads, Hkv = c.numKvHeads, D = c.headDim, I = c.intermediateSize;
  const Q = (H + 2 * Hkv) * D, llama = c.family === 'llama';
  // packed layout
  const ids: number[] = [], pos: number[] = [];
  const L = { promptStart: [] as number[], promptLen: [] as number[], candStart: [] as number[], candLen: [] as number[], candPrompt: [] as number[] };
  prompts.forEach((p, b) => {
    L.promptStart.push(ids.length);
    L.promptLen.push(p.length);
    p.forEach((id, i) => (ids.push(id), pos.push(i)));
    for (const cand of candidates[b]!) {
      L.candStart.push(ids.length);
      L.candLen.push(cand.length);
      L.candPrompt.push(b);
      cand.forEach((id, j) => (ids.push(id), pos.push(p.length + j)));
    }
  });
  const T = ids.length, ids32 = Int32Array.from(ids), pos32 = Int32Array.from(pos);
  const layout: ref.Layout = {
    promptStart: Int32Array.from(L.promptStart), promptLen: Int32Array.from(L.promptLen), candStart: Int32Array.from(L.candStart),
    candLen: Int32Array.from(L.candLen), candPrompt: Int32Array.from(L.candPrompt),
  };
  const pre = llama ? 'model.' : 'transformer.';
  const embed = get(llama ? 'model.embed_tokens.weight' : 'transformer.wte.weight');
  let x = Float32Array.from(ref.embedding(ids32, pos32, embed, llama ? undefined : get('transformer.wpe.weight'), C));
  const normExact = (xx: Float32Array, n: number, wn: Float32Array, bn?: Float32Array, rows?: Int32Array) =>
    Float32Array.from(ref.norm(llama ? 'rms' : 'layer', xx, undefined, rows, wn, bn, n, C, c.normEps).h);
  const norm = (xx: Float32Array, n: number, wn: Float32Array, bn?: Float32Array, rows?: Int32Array) => rd(normExact(xx, n, wn, bn, rows));
  const inv = llama ? invFreq(c) : undefined;
  for (let l = 0; l < c.numLayers; ++l) {
    const p = llama ? `model.layers.${l}.` : `transformer.h.${l}.`;
    let qkv: Float32Array;
    let h = llama ? norm(x, T, get(`${p}input_layernorm.weight`)) : norm(x, T, get(`${p}ln_1.weight`), get(`${p}ln_1.bias`));
    if (llama) {
      const proj = (m: string, n: number) => ref.gemmNt(h, get(`${p}self_attn.${m}_proj.weight`), opt(`${p}self_attn.${m}_proj.bias`), T, n, C);
      const q = proj('q', H * D), k = proj('k', Hkv * D), v = proj('v', Hkv * D);
      qkv = new Float32Array(T * Q);
      for (let t = 0; t < T; ++t) {
        qkv.set(q.subarray(t * H * D, (t + 1) * H * D), t * Q);
        qkv.set(k.subarray(t * Hkv * D, (t + 1) * Hkv * D), t * Q + H * D);
        qkv.set(v.subarray(t * Hkv * D, (t + 1) * Hkv * D), t * Q + (H + Hkv) * D);
      }
      qkv = Float32Array.from(ref.rope(qkv, Q, T, H + Hkv, D, pos32, inv!));
    } else {
      qkv = Float32Array.from(ref.gemmNt(h, transpose(get(`${p}attn.c_attn.weight`), C, 3 * C), get(`${p}attn.c_attn.bias`), T, 3 * C, C));
    }
    const att = rd(Float32Array.from(ref.attention(qkv, layout, T, H, Hkv, D, c.slidingWindow ?? 0).out));
    const o = llama
      ? ref.gemmNt(att, get(`${p}self_attn.o_proj.weight`), opt(`${p}self_attn.o_proj.bias`), T, C, H * D)
      : ref.gemmNt(att, transpose(get(`${p}attn.c_proj.weight`), C, C), get(`${p}attn.c_proj.bias`), T, C, C);
    x = add(x, o);
    h = llama ? norm(x, T, get(`${p}post_attention_layernorm.weight`)) : norm(x, T, get(`${p}ln_2.weight`), get(`${p}ln_2.bias`));
    let down: Float64Array;
    if (llama) {
      const g = ref.gemmNt(h, get(`${p}mlp.gate_proj.weight`), opt(`${p}mlp.gate_proj.bias`), T, I, C);
      const u = ref.gemmNt(h, get(`${p}mlp.up_proj.weight`), opt(`${p}mlp.up_proj.bias`), T, I, C);
      const gu = new Float32Array(T * 2 * I);
      for (let t = 0; t < T; ++t) {
        gu.set(g.subarray(t * I, (t + 1) * I), t * 2 * I);
        gu.set(u.subarray(t * I, (t + 1) * I), t * 2 * I + I);
      }
      const act = rd(Float32Array.from(ref.swiglu(gu, T, I)));
      down = ref.gemmNt(act, get(`${p}mlp.down_proj.weight`), opt(`${p}mlp.down_proj.bias`), T, C, I);
    } else {
      const u = Float32Array.from(ref.gemmNt(h, transpose(get(`${p}mlp.c_fc.weight`), C, I), get(`${p}mlp.c_fc.bias`), T, I, C));
      const act = rd(Float32Array.from(ref.gelu(u, c.hiddenAct === 'gelu_tanh')));
      down = ref.gemmNt(act, transpose(get(`${p}mlp.c_proj.weight`), I, C), get(`${p}mlp.c_proj.bias`), T, C, I);
    }
    x = add(x, down);
  }
  // scored rows (native/model/batch_plan.h): prompts' last rows, then candidate rows predicting a next token
  const rows: number[] = L.promptStart.map((s, b) => s + L.promptLen[b]! - 1);
  const trow: number[] = [], tid: number[] = [], tokOff = [0];
  L.candStart.forEach((s, k) => {
    for (let j = 0; j < L.candLen[k]!; ++j) {
      tid.push(ids[s + j]!);
      if (j === 0) trow.push(L.candPrompt[k]!);
      else {
        trow.push(rows.length);
        rows.push(s + j - 1);
      }
    }
    tokOff.push(tokOff[tokOff.length - 1]! + L.candLen[k]!);
  });
  const finalW = get(llama ? `${pre}norm.weight` : `${pre}ln_f.weight`), finalB = llama ? undefined : get(`${pre}ln_f.bias`);
  const hn = norm(x, rows.length, finalW, finalB, Int32Array.from(rows));
  const E = c.tieWordEmbeddings ? embed : get('lm_head.weight');
  const { lse, targetLogit } = ref.lmHead(hn, E, rows.length, c.vocabSize, C, Int32Array.from(trow), Int32Array.from(tid));
  const tokenLogprobs = tid.map((_, t) => targetLogit[t]! - lse[trow[t]!]!);
  const logprobs = L.candStart.map((_, k) => tokenLogprobs.slice(tokOff[k]!, tokOff[k + 1]!).reduce((a, v) => a + v, 0));
  const hidden = normExact(x, prompts.length, finalW, finalB, Int32Array.from(rows.slice(0, prompts.length)));
  return { logprobs, tokenLogprobs, hidden };
}

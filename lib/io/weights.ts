// The per-architecture weight inventory: which tensors (Hugging Face names, shapes) a ModelConfig needs, and
// resolveWeights, which checks a loaded checkpoint against it and returns exactly those tensors.
// Subtle points:
//  - GPT-2 uses Conv1D, whose weight is [in, out] (c_attn [C, 3C]), unlike nn.Linear's [out, in] in Llama;
//  - checkpoints of the bare base model (original GPT-2 hub files: "h.0.attn.c_attn.weight"; LlamaModel:
//    "layers.0....") lack the "transformer." / "model." prefix; names are normalised to the prefixed form, and
//    a checkpoint holding both spellings of one tensor is rejected rather than silently picking one;
//  - extras are ignored as transformers does: causal-mask buffers (attn.bias, attn.masked_bias),
//    rotary_emb.inv_freq, and lm_head.weight of a tied model (transformers overwrites it with the embedding);
//  - the inventory is a generator: a corrupt config may claim 2^31 layers, and checking fails at the first
//    missing tensor instead of materialising billions of names.

import { GlamError } from '../errors.js';
import type { ModelConfig } from './model-config.js';
import { isWeightDtype, WEIGHT_DTYPES, type StoredTensor, type Tensor } from './safetensors-format.js';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

function* llamaTensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  yield { name: 'model.embed_tokens.weight', shape: [V, C] };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    yield { name: `${p}input_layernorm.weight`, shape: [C] };
    for (const [proj, out] of [['q_proj', H * D], ['k_proj', Hkv * D], ['v_proj', Hkv * D]] as const) {
      yield { name: `${p}self_attn.${proj}.weight`, shape: [out, C] };
      if (cfg.qkvBias) yield { name: `${p}self_attn.${proj}.bias`, shape: [out] };
    }
    yield { name: `${p}self_attn.o_proj.weight`, shape: [C, H * D] };
    if (cfg.oBias) yield { name: `${p}self_attn.o_proj.bias`, shape: [C] };
    yield { name: `${p}post_attention_layernorm.weight`, shape: [C] };
    for (const [proj, out, inp] of [['gate_proj', I, C], ['up_proj', I, C], ['down_proj', C, I]] as const) {
      yield { name: `${p}mlp.${proj}.weight`, shape: [out, inp] };
      if (cfg.mlpBias) yield { name: `${p}mlp.${proj}.bias`, shape: [out] };
    }
  }
  yield { name: 'model.norm.weight', shape: [C] };
  if (!cfg.tieWordEmbeddings) yield { name: 'lm_head.weight', shape: [V, C] };
}

function* gpt2Tensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I } = cfg;
  yield { name: 'transformer.wte.weight', shape: [V, C] };
  yield { name: 'transformer.wpe.weight', shape: [cfg.maxPositions, C] };
  const linear = function* (name: string, inp: number, out: number): Generator<ExpectedTensor> {
    yield { name: `${name}.weight`, shape: [inp, out] }; // Conv1D: [in, out]
    yield { name: `${name}.bias`, shape: [out] };
  };
  const norm = function* (name: string): Generator<ExpectedTensor> {
    yield { name: `${name}.weight`, shape: [C] };
    yield { name: `${name}.bias`, shape: [C] };
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `transformer.h.${i}.`;
    yield* norm(`${p}ln_1`);
    yield* linear(`${p}attn.c_attn`, C, 3 * C);
    yield* linear(`${p}attn.c_proj`, C, C);
    yield* norm(`${p}ln_2`);
    yield* linear(`${p}mlp.c_fc`, C, I);
    yield* linear(`${p}mlp.c_proj`, I, C);
  }
  yield* norm('transformer.ln_f');
  if (!cfg.tieWordEmbeddings) yield { name: 'lm_head.weight', shape: [V, C] };
}

/** Lazily yields the tensors `cfg` needs, in load order, with Hugging Face names and shapes. */
export function iterExpectedTensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  return cfg.family === 'gpt2' ? gpt2Tensors(cfg) : llamaTensors(cfg);
}

/** The tensors `cfg` needs, with Hugging Face names and shapes (llama: [out, in]; GPT-2 Conv1D: [in, out]). */
export function expectedTensors(cfg: ModelConfig): ExpectedTensor[] {
  return [...iterExpectedTensors(cfg)];
}

/** Adds the base-model prefix ("model." / "transformer.") to names saved without it; rejects duplicate spellings. */
export function canonicalTensorNames<T extends StoredTensor>(cfg: ModelConfig, tensors: Map<string, T>): Map<string, T> {
  const prefix = cfg.family === 'gpt2' ? 'transformer.' : 'model.';
  const out = new Map<string, T>();
  for (const [name, t] of tensors) {
    const canonical = name.startsWith(prefix) || name.startsWith('lm_head.') ? name : prefix + name;
    const prev = out.get(canonical);
    if (prev !== undefined) {
      throw new GlamError('SafetensorsInvalid',
        `tensor "${canonical}" is stored twice, with and without the "${prefix}" prefix (in ${prev.file ?? 'the checkpoint'} and ` +
          `${t.file ?? 'the checkpoint'}); keep one copy.`);
    }
    out.set(canonical, t);
  }
  return out;
}

function describeSources(tensors: Map<string, StoredTensor>): string {
  const files = [...new Set([...tensors.values()].map((t) => t.file).filter((f): f is string => f !== undefined))];
  if (files.length === 0) return 'the checkpoint';
  return files.length <= 3 ? files.join(', ') : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more shards`;
}

/**
 * Checks that every tensor `cfg` needs is present with the expected shape and a supported dtype, and returns
 * exactly those, keyed by canonical Hugging Face name. `where` names the checkpoint in errors (default: its files).
 */
export function resolveWeights(cfg: ModelConfig, tensors: Map<string, StoredTensor>, where?: string): Map<string, Tensor> {
  const byName = canonicalTensorNames(cfg, tensors);
  const src = where ?? describeSources(tensors);
  const out = new Map<string, Tensor>();
  for (const { name, shape } of iterExpectedTensors(cfg)) {
    const t = byName.get(name);
    if (t === undefined) {
      throw new GlamError('TensorMissing',
        `tensor "${name}" (shape [${shape.join(', ')}]) required by ${cfg.architecture} is not in ${src}. ` +
          'The weights do not match config.json (check num_hidden_layers, tie_word_embeddings, attention_bias/mlp_bias) or are incomplete.');
    }
    const file = t.file ?? src;
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new GlamError('TensorShapeMismatch',
        `tensor "${name}" in ${file}: config.json implies shape [${shape.join(', ')}] but the file has [${t.shape.join(', ')}]. ` +
          'The weights belong to a different model size or config.json was edited.');
    }
    if (!isWeightDtype(t.dtype)) {
      throw new GlamError('TensorDtypeUnsupported',
        `tensor "${name}" in ${file} has dtype ${t.dtype}; glam computes with ${WEIGHT_DTYPES.join(', ')}. ` +
          'Convert the checkpoint (e.g. model.to(torch.bfloat16).save_pretrained(...)).');
    }
    out.set(name, { dtype: t.dtype, shape: t.shape, data: t.data });
  }
  return out;
}

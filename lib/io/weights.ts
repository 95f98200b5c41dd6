// The per-architecture weight inventory: which tensors (Hugging Face names, shapes) a ModelConfig needs, and
// resolveWeights, which checks a loaded checkpoint against it and returns exactly those tensors. The names come
// from the native family table (native/model/family.cpp, exported by the CPU addon's familyTable()), the one
// the native loader reads: the table exists once.
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
import { cpuAddon, type FamilyDim, type NativeFamily } from '../native/binding.js';
import type { ModelConfig } from './model-config.js';
import { isWeightDtype, WEIGHT_DTYPES, type StoredTensor, type Tensor } from './safetensors-format.js';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** A dimension of the family table resolved against a config. */
function dimOf(cfg: ModelConfig, d: FamilyDim): number {
  switch (d) {
    case 'C': return cfg.hiddenSize;
    case 'I': return cfg.intermediateSize;
    case 'HD': return cfg.numHeads * cfg.headDim;
    case 'KvD': return cfg.numKvHeads * cfg.headDim;
    case 'C3': return 3 * cfg.hiddenSize;
  }
}

let families: Record<string, NativeFamily> | undefined;

/** The native family table (read once from the CPU addon). */
function familyOf(cfg: ModelConfig): NativeFamily {
  families ??= cpuAddon().familyTable();
  const f = families[cfg.family];
  if (f === undefined) throw new GlamError('UnsupportedArchitecture', `the native engine has no "${cfg.family}" family table; update glam`);
  return f;
}

/** Whether a linear of this role carries a bias under cfg (native: linear_has_bias). */
function hasBias(cfg: ModelConfig, role: NativeFamily['linears'][number]['role']): boolean {
  return role === 'qkv' ? cfg.qkvBias : role === 'o' ? cfg.oBias : cfg.mlpBias;
}

function* familyTensors(cfg: ModelConfig, f: NativeFamily): Generator<ExpectedTensor> {
  const C = cfg.hiddenSize;
  yield { name: f.embed, shape: [cfg.vocabSize, C] };
  if (f.pos === 'learned') yield { name: f.posEmbed, shape: [cfg.maxPositions, C] };
  const norm = function* (name: string): Generator<ExpectedTensor> {
    yield { name: `${name}.weight`, shape: [C] };
    if (f.normBias) yield { name: `${name}.bias`, shape: [C] };
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `${f.layerPrefix}${i}.`;
    for (const lin of f.linears) {
      if (lin.role === 'qkv') yield* norm(p + f.norm1);
      if (lin.role === 'up') yield* norm(p + f.norm2);
      const inp = dimOf(cfg, lin.in);
      for (const part of lin.parts) {
        const out = dimOf(cfg, part.rows);
        yield { name: `${p}${part.module}.weight`, shape: lin.conv1d ? [inp, out] : [out, inp] }; // Conv1D: [in, out]
        if (hasBias(cfg, lin.role)) yield { name: `${p}${part.module}.bias`, shape: [out] };
      }
    }
  }
  yield* norm(f.finalNorm);
  if (!cfg.tieWordEmbeddings) yield { name: f.lmHead, shape: [cfg.vocabSize, C] };
}

/** Lazily yields the tensors `cfg` needs, in load order, with Hugging Face names and shapes. */
export function iterExpectedTensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  return familyTensors(cfg, familyOf(cfg));
}

/** The tensors `cfg` needs, with Hugging Face names and shapes (llama: [out, in]; GPT-2 Conv1D: [in, out]). */
export function expectedTensors(cfg: ModelConfig): ExpectedTensor[] {
  return [...iterExpectedTensors(cfg)];
}

/** Adds the base-model prefix ("model." / "transformer.") to names saved without it; rejects duplicate spellings. */
export function canonicalTensorNames<T extends StoredTensor>(cfg: ModelConfig, tensors: Map<string, T>): Map<string, T> {
  const f = familyOf(cfg);
  const prefix = f.layerPrefix.slice(0, f.layerPrefix.indexOf('.') + 1); // "model." | "transformer."
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

// The T5ForConditionalGeneration weight inventory (Hugging Face names and shapes) and resolveT5Weights, which checks a
// loaded checkpoint against it and returns exactly the tensors the engine reads. The names come from the native T5
// table (native/model/t5_weights.h t5_layout, exported by the CPU addon's t5Table()), the one the native loader
// reads: the table exists once.
// Subtle points (transformers 5.23's loading rules):
//  - the embedding is "shared.weight"; checkpoints that store only the stacks' copies give "encoder.embed_tokens.weight";
//  - the head: a stored "lm_head.weight" is used when the config says tie_word_embeddings: false (v1.1, Flan-T5; then
//    it is required) or when it differs from the embedding (transformers then unties them; transformers 5 writes
//    tie_word_embeddings: true even for Flan-T5 fine-tunes); otherwise the embedding is the head;
//  - only block 0 of each stack owns relative_attention_bias (later blocks reuse it); the decoder's cross attention
//    never has one (a stored one is ignored, as transformers does), nor do the stacks' embed_tokens copies;
//  - the inventory is a generator: a corrupt config may claim 2^31 layers, and checking fails at the first missing
//    tensor instead of materialising billions of names.

import { GlamError } from '../errors.js';
import { cpuAddon, type NativeT5Stack, type NativeT5Table, type T5Dim } from '../native/binding.js';
import type { ModelConfig } from './model-config.js';
import { isWeightDtype, WEIGHT_DTYPES, type StoredTensor, type Tensor } from './safetensors-format.js';
import type { ExpectedTensor } from './weights.js';

let table: NativeT5Table | undefined;

/** The native T5 table (read once from the CPU addon). */
export function t5Table(): NativeT5Table {
  return (table ??= cpuAddon().t5Table());
}

function dimOf(cfg: ModelConfig, d: T5Dim): number {
  switch (d) {
    case 'V': return cfg.vocabSize;
    case 'C': return cfg.hiddenSize;
    case 'HD': return cfg.numHeads * cfg.headDim;
    case 'I': return cfg.intermediateSize;
    case 'NB': return cfg.t5!.relativeAttentionNumBuckets;
    case 'H': return cfg.numHeads;
  }
}

function* stackTensors(cfg: ModelConfig, s: NativeT5Stack, layers: number, relBias: string): Generator<ExpectedTensor> {
  const gated = cfg.t5!.gatedAct;
  for (let l = 0; l < layers; l++) {
    const p = `${s.prefix}${l}.`;
    if (l === 0) yield { name: p + relBias, shape: [dimOf(cfg, 'NB'), dimOf(cfg, 'H')] };
    for (const part of s.parts) {
      if ((part.ff === 'gated' && !gated) || (part.ff === 'relu' && gated)) continue;
      yield { name: p + part.name, shape: part.cols === null ? [dimOf(cfg, part.rows)] : [dimOf(cfg, part.rows), dimOf(cfg, part.cols)] };
    }
  }
  yield { name: s.finalNorm, shape: [cfg.hiddenSize] };
}

/** The tensors a T5 config needs (without the head: see t5HeadTensor and resolveT5Weights), in load order. */
export function* t5Tensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  const t = t5Table();
  yield { name: t.embed, shape: [cfg.vocabSize, cfg.hiddenSize] };
  yield* stackTensors(cfg, t.encoder, cfg.numLayers, t.relBias);
  yield* stackTensors(cfg, t.decoder, cfg.t5!.numDecoderLayers, t.relBias);
}

/** The head's own tensor (v1.1 / Flan-T5 store it; v1.0's head is the embedding). */
export function t5HeadTensor(cfg: ModelConfig): ExpectedTensor {
  return { name: t5Table().lmHead, shape: [cfg.vocabSize, cfg.hiddenSize] };
}

function sameBytes(a: StoredTensor, b: StoredTensor): boolean {
  if (a.dtype !== b.dtype || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Checks every tensor a T5 config needs (shape, dtype) and returns exactly those, plus lm_head.weight when it is the head. */
export function resolveT5Weights(cfg: ModelConfig, tensors: Map<string, StoredTensor>, where = 'the checkpoint'): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const take = (name: string, shape: number[], stored: StoredTensor | undefined): void => {
    if (stored === undefined) {
      throw new GlamError('TensorMissing',
        `tensor "${name}" (shape [${shape.join(', ')}]) required by T5ForConditionalGeneration is not in ${where}. ` +
          'The weights do not match config.json (check num_layers, num_decoder_layers, feed_forward_proj, tie_word_embeddings) or are incomplete.');
    }
    const file = stored.file ?? where;
    if (stored.shape.length !== shape.length || stored.shape.some((d, k) => d !== shape[k])) {
      throw new GlamError('TensorShapeMismatch',
        `tensor "${name}" in ${file}: config.json implies shape [${shape.join(', ')}] but the file has [${stored.shape.join(', ')}]. ` +
          'The weights belong to a different model size or config.json was edited.');
    }
    if (!isWeightDtype(stored.dtype)) {
      throw new GlamError('TensorDtypeUnsupported',
        `tensor "${name}" in ${file} has dtype ${stored.dtype}; glam computes with ${WEIGHT_DTYPES.join(', ')}.`);
    }
    out.set(name, { dtype: stored.dtype, shape: stored.shape, data: stored.data });
  };
  const t = t5Table();
  for (const { name, shape } of t5Tensors(cfg)) {
    const stored = tensors.get(name) ?? (name === t.embed ? tensors.get(t.embedAlias) : undefined);
    take(name, shape, stored);
  }
  const head = tensors.get(t.lmHead);
  const shared = tensors.get(t.embed) ?? tensors.get(t.embedAlias);
  if (!cfg.tieWordEmbeddings || (head !== undefined && shared !== undefined && !sameBytes(head, shared))) {
    const { name, shape } = t5HeadTensor(cfg);
    take(name, shape, head);
  }
  return out;
}
